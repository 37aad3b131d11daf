"""Deliver (SPEC 11.3): what the delivery will do, worked out by the engine (`plan`, in a
worker thread: it reads git) before anything is done: the way (merge, push, pull
request), the base branch and its tip, the verified head and its commits, the validation
re-run on the merged tree, the remote. The way can be changed here; the answer is the way
confirmed. The first plan refused closes the dialog with the engine's sentence."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Label, Select, Static
from textual.worker import get_current_worker

from cockpit.engine.config.delivery import DeliveryVia
from cockpit.errors import CockpitError
from cockpit.screens.context import cockpit
from cockpit.screens.modals.form import ActionModal
from cockpit.screens.text import plain
from cockpit.store import Store

if TYPE_CHECKING:  # the delivery plane is imported when a delivery is first planned
    from cockpit.engine.delivery.plan import Plan

Planner = Callable[[Store, str | None], "Plan"]
VIAS: tuple[str, ...] = get_args(DeliveryVia)
WORKING = "Working out what the delivery would do …"
WIDTH = 100  # cells of the dialog (at most the screen's)
SHORT = 12

WHAT_HAPPENS = {
    "merge": "merged onto {base}'s tip in a scratch worktree; the validation re-run there in "
    "the sandbox; only if it passes, {base} advances (compare-and-swap; a checked-out {base} "
    "only by fast-forward, when clean). A conflict or a failure changes nothing.",
    "push": "branch {branch} pushed to {remote} (never forced).",
    "pr": "branch {branch} pushed to {remote} (never forced), then a pull request into "
    "{base} opened with gh, its body written from the record.",
}


def plan_text(plan: Plan) -> Text:
    """What the delivery will do, as plain Text (commit subjects are the agent's words)."""
    shown = Text(end="")

    def field(name: str, value: Text | str) -> None:
        shown.append(f"{name:<12}", style="#9ca3af")
        shown.append_text(value if isinstance(value, Text) else plain(value))
        shown.append("\n")

    field("via", Text(plan.via, style="bold"))
    tip = f" (at {plan.base_sha[:SHORT]})" if plan.base_sha else " (no such local branch)"
    field("into" if plan.via != "push" else "base", plain(plan.base + tip, "bold"))
    field("repo", str(plan.repo))
    if plan.via == "merge" and plan.checked_out:
        where = "the repo's own" if plan.checked_out == plan.repo else str(plan.checked_out)
        field("checked out", f"in {where} working tree")
    field("head", f"{plan.head[:SHORT]} (the verified head at acceptance)")
    if plan.remote:
        field("remote", f"{plan.remote} → {plan.remote_ref or ''}")
    count = len(plan.commits) + plan.more_commits
    field("commits", f"{count}")
    for commit in plan.commits:
        shown.append(f"  {commit.sha[:SHORT]} ", style="#fbbf24")
        shown.append_text(plain(commit.subject))
        shown.append("\n")
    if plan.more_commits:
        shown.append(f"  … and {plan.more_commits} more\n", style="#9ca3af")
    if plan.via == "merge":
        field("validation", "" if plan.validation else "none (the WP names no command)")
        for command in plan.validation:
            shown.append("  $ ", style="#9ca3af")
            shown.append_text(plain(command))
            shown.append("\n")
    branch = plan.remote_ref.removeprefix("refs/heads/") if plan.remote_ref else ""
    said = WHAT_HAPPENS[plan.via].format(base=plan.base, branch=branch, remote=plan.remote)
    shown.append("\nThen: ", style="bold")
    shown.append_text(plain(said))
    shown.append(" Recorded forever, after a checkpoint of the record; with a runner key, an")
    shown.append(" attestation about the delivered commit is written.")
    return shown


class DeliverModal(ActionModal):
    TITLE_TEXT = "Deliver"
    OK_LABEL = "Deliver"

    def __init__(self, wp_id: str, planner: Planner, via: str | None = None) -> None:
        super().__init__(wp_id)
        self.planner = planner
        self.via = via  # None: the config's
        self.plan: Plan | None = None
        self.refused: str | None = None
        self.first = True  # the first plan refused closes the dialog

    def fields(self) -> ComposeResult:
        yield Label("Via (delivery.via in the config is the default):")
        yield Select([(v, v) for v in VIAS], prompt="the config's", id="via", allow_blank=True)
        yield Static(Text(WORKING, style="#9ca3af"), id="plan")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(".dialog").styles.width = WIDTH  # paths and commits need the room
        self.work_out(self.via)

    @on(Select.Changed, "#via")
    def via_changed(self, event: Select.Changed) -> None:
        via = None if event.value is Select.NULL else str(event.value)
        if via != (self.plan.via if self.plan else self.via):
            self.via = via
            self.plan = None
            self.query_one("#plan", Static).update(Text(WORKING, style="#9ca3af"))
            self.work_out(via)

    @work(thread=True, group="deliver-read", exclusive=True, exit_on_error=False)
    def work_out(self, via: str | None) -> None:
        app = cockpit(self)
        result: Plan | str
        try:
            store = app.open_reader()
            try:
                result = self.planner(store, via)
            finally:
                store.close()
        except CockpitError as exc:
            result = str(exc)
        except Exception as exc:  # never a traceback on the screen
            result = f"the delivery could not be worked out: {exc}"
        if not get_current_worker().is_cancelled and not app.quitting:
            self.app.call_from_thread(self.show_plan, result)

    def show_plan(self, result: Plan | str) -> None:
        if not self.is_attached:
            return
        first, self.first = self.first, False
        if isinstance(result, str):
            if first:
                cockpit(self).say(result, title="Deliver refused", severity="error")
                self.dismiss(None)
                return
            self.plan, self.refused = None, result
            self.query_one("#plan", Static).update(Text(result, style="bold #ef4444"))
            return
        self.plan, self.refused = result, None
        self.query_one("#plan", Static).update(plan_text(result))

    def values(self) -> dict[str, Any] | str:
        if self.plan is None:
            return self.refused or "Still working out what the delivery would do."
        return {"via": self.plan.via, "head": self.plan.head, "base_sha": self.plan.base_sha}
