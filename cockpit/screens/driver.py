"""The app's action driver: a person's action is a dialog, a confirmation for a
destructive one, the session's signer (screens/signing.py) and then one engine call in a
worker; the result or the engine's refusal comes back as a notification. CockpitApp mixes
it in; nothing here decides a rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from rich.text import Text
from textual import work

from cockpit.domain import Capability
from cockpit.engine.actions import human, preconditions
from cockpit.engine.canon import candidates as canon
from cockpit.engine.reports.lineage import summarize
from cockpit.errors import CockpitError, Refused
from cockpit.screens.actions import ACTIONS, Answer, Request
from cockpit.screens.context import Cockpit
from cockpit.screens.modals import ConfirmModal
from cockpit.screens.signing import with_signer
from cockpit.store import Event, Store


class ActionDriver:
    """Mixed into CockpitApp (a Textual App with ws, store, principal, readonly, signing,
    say, poll and the stop events): starts actions and runs their engine calls."""

    _in_flight: set[tuple[str, str]]
    ws: Any
    store: Store
    principal: str
    readonly: bool

    def refuse_readonly(self) -> bool:
        if self.readonly:
            self.say(
                "Read-only: actions are disabled (started with --readonly).", severity="warning"
            )
        return self.readonly

    def perform(
        self,
        title: str,
        wp_id: str,
        call: Callable[[Store], object],
        done: Callable[[object], None] | None = None,
    ) -> None:
        """Make one engine call in a worker; report success or the engine's refusal. The same
        action on the same WP is not started twice while the first is running."""
        if (title, wp_id) in self._in_flight:
            self.say(f"{title} of {wp_id} is already running", severity="warning")
            return
        self._in_flight.add((title, wp_id))
        self._perform(title, wp_id, call, done)

    def _action_finished(self, title: str, wp_id: str) -> None:
        self._in_flight.discard((title, wp_id))

    @work(thread=True, group="action", exit_on_error=False)
    def _perform(
        self,
        title: str,
        wp_id: str,
        call: Callable[[Store], object],
        done: Callable[[object], None] | None,
    ) -> None:
        try:
            store = self.ws.open_store(self.clock)
            try:
                result = call(store)
            finally:
                store.close()
        except CockpitError as exc:
            self.call_from_thread(self.say, str(exc), title=f"{title} refused", severity="error")
            return
        except Exception as exc:
            self.call_from_thread(
                self.say, f"{type(exc).__name__}: {exc}", title=f"{title} failed", severity="error"
            )
            return
        finally:
            self.call_from_thread(self._action_finished, title, wp_id)
        try:
            if isinstance(result, list) and result and isinstance(result[0], Event):
                last = result[-1]
                move = last.payload.get("transition")
                moved = f": {move['from']} → {move['to']}" if move else ""
                said = summarize(last.type, last.payload)
                what = f"{last.type.replace('_', ' ')} {last.work_package}{moved}" + (
                    f": {said}" if said and not moved else ""
                )
                self.call_from_thread(self.say, what, title=title)
            self.call_from_thread(self.poll)
            if done is not None:
                self.call_from_thread(done, result)
        except Exception as exc:  # the action happened; say that showing it went wrong
            if not self._halt.is_set():
                self.call_from_thread(
                    self.say,
                    f"{title} was recorded, but showing it failed: {exc}",
                    severity="warning",
                )

    def start_action(self, name: str, wp_id: str) -> None:
        """Open the dialog for action `name` on `wp_id`, ask before a destructive one, then
        make its engine call (the table in cockpit.screens.actions says which)."""
        if self.refuse_readonly():
            return
        title = name.capitalize()
        try:
            wp = preconditions.check(self.ws, self.store, name, wp_id, self.principal)
        except CockpitError as exc:  # refuse before asking for anything (an unknown WP too)
            self.say(str(exc), title=f"{title} refused", severity="error")
            return
        action = ACTIONS[name]
        dialog = action.dialog(self, wp_id, wp)
        if isinstance(dialog, str):
            self.say(dialog, severity="warning")
            return

        def run(answer: Answer) -> None:
            ws, by, stop = self.ws, self.principal, self._halt

            def show(result: object) -> None:
                if action.after is not None:
                    action.after(cast(Cockpit, self), wp_id, answer, result)
                if action.result is not None:
                    self.push_screen(action.result(wp_id, result))

            with_signer(
                self,
                lambda sign: self.perform(
                    title,
                    wp_id,
                    lambda s: action.call(Request(ws, s, wp_id, by, answer, stop, sign)),
                    show,
                ),
            )

        def answered(answer: Answer | None) -> None:
            if not answer:
                return
            if action.confirm is None:
                run(answer)
                return
            question = Text(action.confirm(wp_id, wp, answer))
            self.push_screen(ConfirmModal(question), lambda yes: run(answer) if yes else None)

        if dialog is None:
            run({})
        else:
            self.push_screen(dialog, answered)

    def start_commission(self, candidate_id: str, refused: str | None = None) -> None:
        """Ask before commissioning `candidate_id`, then run the Canon Gate and record it
        (refused up front in read-only mode, without the commission capability, or with
        `refused`: why the gate's preview would refuse it)."""
        if self.refuse_readonly():
            return
        ws, by = self.ws, self.principal
        try:
            human.require(ws, by, Capability.COMMISSION)
        except Refused as exc:
            self.say(str(exc), title="Commission refused", severity="error")
            return
        if refused is not None:
            self.say(refused, title="Commission refused", severity="error")
            return

        def reported(result: object) -> None:
            decision = result.decision  # type: ignore[attr-defined]
            if decision.admits:
                self.say(f"{candidate_id} is canon now (by {by}).", title="Commission")
                return
            failed = "; ".join(f"{n} ({decision.checks[n].detail})" for n in decision.failed)
            self.say(
                f"The Canon Gate refused {candidate_id}: {failed}.",
                title="Commission refused",
                severity="error",
            )

        def confirmed(yes: bool | None) -> None:
            if yes:
                with_signer(
                    self,
                    lambda sign: self.perform(
                        "Commission",
                        candidate_id,
                        lambda s: canon.commission(ws, s, candidate_id, by, sign=sign),
                        reported,
                    ),
                )

        question = Text(f"Commission {candidate_id} as canon? This is recorded forever.")
        self.push_screen(ConfirmModal(question), confirmed)
