"""The human actions as a table: for each, the dialog that asks for its input, the
question asked before a destructive one, and the one engine call it makes, signed by the
session's signer (`r.sign`, screens/signing.py). The app's `start_action` drives any row
the same way, after asking the engine whether the action would be refused
(`preconditions.check`); what a dialog offers (verdicts, assignees, raise or lift) is
the engine's to say too. Nothing is decided here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.screen import ModalScreen

from cockpit.domain import Verdict
from cockpit.engine.actions import choices, human, preconditions
from cockpit.engine.gate.review_comments import latest_head
from cockpit.engine.trust.actions import Sign
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.context import Cockpit
from cockpit.screens.modals import (
    ActionModal,
    DeliverModal,
    DismissModal,
    DispatchModal,
    OverrideModal,
    ReasonModal,
    RecoverModal,
    ReviewModal,
    RollbackModal,
    VerifyResultModal,
    VetoModal,
)
from cockpit.store import Store

Answer = dict[str, Any]
WorkPackage = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """What an engine call is made with: where, as whom, on which WP, the dialog's answer,
    the app's stop signal (set when it quits) and the session's signer (None: unsigned)."""

    ws: Workspace
    store: Store
    wp_id: str
    by: str
    answer: Answer
    stop: threading.Event
    sign: Sign | None = None


# The dialog for a WP: a dialog to open, None to ask nothing, or a sentence refusing.
Dialog = Callable[[Cockpit, str, WorkPackage], ActionModal | str | None]


def no_dialog(app: Cockpit, wp_id: str, wp: WorkPackage) -> None:
    return None


@dataclass(frozen=True)
class Action:
    call: Callable[[Request], object]
    dialog: Dialog = no_dialog
    # The question asked, after the dialog, before a destructive call.
    confirm: Callable[[str, WorkPackage, Answer], str] | None = None
    # What to show of the call's result, beyond the notification every action gets.
    result: Callable[[str, Any], ModalScreen[None]] | None = None
    # What the app does after the call succeeded (on the UI thread), with the answer and
    # the call's result.
    after: Callable[[Cockpit, str, Answer, Any], None] | None = None


def _dismiss_dialog(app: Cockpit, wp_id: str, wp: WorkPackage) -> ActionModal | str:
    # preconditions.check refused already if none is open.
    return DismissModal(wp_id, choices.dismissable(app.store, wp_id))


def _dispatch_dialog(app: Cockpit, wp_id: str, wp: WorkPackage) -> ActionModal | str:
    eligible, lane = choices.eligible_assignees(app.ws, wp), wp.get("lane") or ""
    if not eligible:
        return f"No principal of this workspace can claim {wp_id} and serve lane {lane}."
    return DispatchModal(wp_id, eligible, lane)


def _review_dialog(app: Cockpit, wp_id: str, wp: WorkPackage) -> ActionModal:
    verdicts = preconditions.review_verdicts(app.store, wp, app.principal)
    comments = [d.comment() for d in app.drafts.of(wp_id)]
    head = app.drafts.head(wp_id)
    return ReviewModal(wp_id, wp["state"], [v.value for v in verdicts], comments, head)


def _review(r: Request) -> object:
    """The review with the comments drafted on the Changes tab, naming the head they
    were written on (or the one the tab showed; else, accepting, the latest verified)."""
    verdict, comments = r.answer["verdict"], r.answer.get("comments") or []
    head = r.answer.get("head")
    if head is None and verdict == Verdict.ACCEPTED.value:
        head = latest_head(r.store, r.wp_id)
    return human.review(
        r.ws, r.store, r.wp_id, verdict, r.answer["findings"], r.by, sign=r.sign,
        head=head, comments=comments or None,
    )  # fmt: skip


def _reviewed(app: Cockpit, wp_id: str, answer: Answer, result: Any) -> None:
    """The drafts the review sent are drafts no more."""
    app.drafts.submitted(wp_id, answer.get("comments") or [])


def _deliver_dialog(app: Cockpit, wp_id: str, wp: WorkPackage) -> ActionModal:
    def planned(store: Store, via: str | None) -> Any:
        from cockpit.engine import delivery  # its libraries load when first needed

        return delivery.plan(app.ws, store, wp_id, via)

    return DeliverModal(wp_id, planned)


def _deliver(r: Request) -> object:
    from cockpit.engine import delivery

    return delivery.deliver(r.ws, r.store, r.wp_id, r.by, via=r.answer["via"], sign=r.sign)


def _delivered(app: Cockpit, wp_id: str, answer: Answer, result: Any) -> None:
    """Say where the change went: the base advanced, the branch pushed, the PR opened."""
    done = result.event.payload
    where = (
        f"{done.get('base')} {str(done.get('base_sha') or '')[:12]} → "
        f"{str(done.get('merge_sha') or '')[:12]}"
        + (", validated" if done.get("validated") else "")
        if done.get("via") == "merge"
        else str(done.get("url") or done.get("remote_ref") or "")
    )
    said = f"{wp_id} delivered by {done.get('via')}: {where}"
    if done.get("attestation"):
        said += f"; attestation {done['attestation']}"
    app.say(said, title="Deliver")


ACTIONS: dict[str, Action] = {
    "verify": Action(
        call=lambda r: human.verify(r.ws, r.store, r.wp_id, r.by, stop=r.stop, sign=r.sign),
        result=lambda wp_id, run: VerifyResultModal(wp_id, run.to_json()),
    ),
    "dispatch": Action(
        call=lambda r: human.dispatch(r.ws, r.store, r.wp_id, r.answer["to"], r.by, sign=r.sign),
        dialog=_dispatch_dialog,
    ),
    "recover": Action(
        call=lambda r: human.recover(
            r.ws, r.store, r.wp_id, r.answer["owner"], r.answer["next_action"], r.by, sign=r.sign
        ),
        dialog=lambda app, wp_id, wp: RecoverModal(wp_id, wp.get("assignee") or app.principal),
    ),
    "review": Action(call=_review, dialog=_review_dialog, after=_reviewed),
    "override": Action(
        call=lambda r: human.override(
            r.ws, r.store, r.wp_id, r.answer["to"], r.answer["reason"], r.by, sign=r.sign
        ),
        dialog=lambda app, wp_id, wp: OverrideModal(
            wp_id, choices.override_targets(wp), wp["state"]
        ),
        confirm=lambda wp_id, wp, answer: (
            f"Override {wp_id} from {wp['state']} to {answer['to']}? This is recorded forever."
        ),
    ),
    "cancel": Action(
        call=lambda r: human.cancel(r.ws, r.store, r.wp_id, r.answer["reason"], r.by, sign=r.sign),
        dialog=lambda app, wp_id, wp: ReasonModal(wp_id),
        confirm=lambda wp_id, wp, answer: f"Cancel {wp_id}? It cannot be resumed.",
    ),
    "rollback": Action(
        call=lambda r: human.rollback(
            r.ws, r.store, r.wp_id, r.answer["reason"], r.by, sign=r.sign
        ),
        dialog=lambda app, wp_id, wp: RollbackModal(wp_id),
        confirm=lambda wp_id, wp, answer: f"Roll {wp_id} back to its base commit?",
    ),
    "veto": Action(
        call=lambda r: human.veto(
            r.ws, r.store, r.wp_id, r.answer["reason"], r.by, lift=r.answer["lift"], sign=r.sign
        ),
        dialog=lambda app, wp_id, wp: VetoModal(wp_id, bool(wp["vetoed"])),
    ),
    "dismiss": Action(
        call=lambda r: human.dismiss(
            r.ws, r.store, r.wp_id, r.answer["advisory"], r.answer["reason"], r.by, sign=r.sign
        ),
        dialog=_dismiss_dialog,
    ),
    "deliver": Action(call=_deliver, dialog=_deliver_dialog, after=_delivered),
}
