"""Action dialogs: each is a ModalScreen that gathers the action's input and returns it
through dismiss(); the app then makes the one engine call. Nothing is decided here."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch, TextArea

from cockpit.domain import Predicate, Verdict
from cockpit.engine.text import literal
from cockpit.screens.text import STATUS_STYLES, outcome, plain

VERDICTS = [v.value for v in Verdict]


class ActionModal(ModalScreen[dict[str, Any] | None]):
    """A titled form with OK/Cancel; subclasses yield fields and read their values."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="cockpit.modal.cancel"),
        Binding("ctrl+s", "submit", "OK", id="cockpit.modal.submit"),
    ]
    TITLE_TEXT = ""
    OK_LABEL = "OK"

    def __init__(self, wp_id: str) -> None:
        super().__init__()
        self.wp_id = wp_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                Text(f"{self.TITLE_TEXT} · {self.wp_id}", style="bold"), classes="dialog-title"
            )
            yield from self.fields()
            yield Label("", id="problem", classes="problem")
            with Horizontal(classes="buttons"):
                yield Button(self.OK_LABEL, variant="primary", id="ok")
                yield Button("Back (esc)", id="cancel")

    def on_mount(self) -> None:
        app: Any = self.app
        app.steady_cursors(self)

    def fields(self) -> ComposeResult:
        yield from ()

    def values(self) -> dict[str, Any] | str:
        """The form's answer, or a sentence saying what is missing."""
        return {}

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self.app.screen is not self:  # a second Enter after dismiss must not pop the board
            return
        answer = self.values()
        if isinstance(answer, str):
            self.query_one("#problem", Label).update(Text(answer, style="bold #ef4444"))
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)


def _text(modal: Widget, selector: str) -> str:
    return modal.query_one(selector, Input).value.strip()


class DispatchModal(ActionModal):
    TITLE_TEXT = "Dispatch"
    OK_LABEL = "Dispatch"

    def __init__(self, wp_id: str, eligible: list[str]) -> None:
        super().__init__(wp_id)
        self.eligible = eligible

    def fields(self) -> ComposeResult:
        yield Label("Dispatch to (principals that can claim and serve the lane):")
        yield Select(
            [(plain(p), p) for p in self.eligible],
            prompt="choose an agent",
            id="to",
            value=self.eligible[0] if len(self.eligible) == 1 else Select.NULL,
        )

    def values(self) -> dict[str, Any] | str:
        value = self.query_one("#to", Select).value
        if value is Select.NULL:
            return "Choose who to dispatch to."
        return {"to": value}


class RecoverModal(ActionModal):
    TITLE_TEXT = "Recover"
    OK_LABEL = "File recovery"

    def __init__(self, wp_id: str, default_owner: str) -> None:
        super().__init__(wp_id)
        self.default_owner = default_owner

    def fields(self) -> ComposeResult:
        yield Label("Recovery owner:")
        yield Input(self.default_owner, id="owner")
        yield Label("Next action:")
        yield Input(placeholder="what happens next, and by whom", id="next_action")

    def values(self) -> dict[str, Any] | str:
        owner, action = _text(self, "#owner"), _text(self, "#next_action")
        if not owner or not action:
            return "A recovery needs an owner and a next action."
        return {"owner": owner, "next_action": action}


class ReviewModal(ActionModal):
    TITLE_TEXT = "Review"
    OK_LABEL = "Record verdict"

    def fields(self) -> ComposeResult:
        yield Label("Verdict:")
        yield Select([(v, v) for v in VERDICTS], prompt="choose a verdict", id="verdict")
        yield Label("Findings (one per line):")
        yield TextArea(id="findings")

    def values(self) -> dict[str, Any] | str:
        verdict = self.query_one("#verdict", Select).value
        if verdict is Select.NULL:
            return "Choose a verdict."
        lines = self.query_one("#findings", TextArea).text.splitlines()
        return {"verdict": verdict, "findings": [f.strip() for f in lines if f.strip()]}


class OverrideModal(ActionModal):
    TITLE_TEXT = "Override"
    OK_LABEL = "Override…"

    def __init__(self, wp_id: str, states: list[str], current: str) -> None:
        super().__init__(wp_id)
        self.states = states
        self.current = current

    def fields(self) -> ComposeResult:
        yield Label(
            Text(
                f"Currently {self.current}. An override is recorded forever and the WP "
                "stays marked overridden.",
                style="#fbbf24",
            )
        )
        yield Label("Move to state:")
        yield Select([(s, s) for s in self.states], prompt="choose a state", id="to")
        yield Label("Reason (required):")
        yield Input(placeholder="why the lifecycle is being overridden", id="reason")

    def values(self) -> dict[str, Any] | str:
        target = self.query_one("#to", Select).value
        reason = _text(self, "#reason")
        if target is Select.NULL:
            return "Choose the state to move to."
        if not reason:
            return "An override needs a reason."
        return {"to": target, "reason": reason}


class ReasonModal(ActionModal):
    """Cancel: a mandatory reason."""

    TITLE_TEXT = "Cancel"
    OK_LABEL = "Cancel WP…"

    def fields(self) -> ComposeResult:
        yield Label("Reason (required):")
        yield Input(placeholder="why this work package is cancelled", id="reason")

    def values(self) -> dict[str, Any] | str:
        reason = _text(self, "#reason")
        return {"reason": reason} if reason else "A cancel needs a reason."


class RollbackModal(ActionModal):
    """Rollback: a mandatory reason, and what will happen."""

    TITLE_TEXT = "Rollback"
    OK_LABEL = "Roll back…"

    def fields(self) -> ComposeResult:
        yield Label(
            Text(
                f"Branch wp/{self.wp_id} goes back to its base commit and the worktree is "
                f"cleaned; the failed work is kept on wp/{self.wp_id}-failed-<n>."
            ),
            classes="hint",
        )
        yield Label("Reason (required):")
        yield Input(placeholder="why the work is rolled back", id="reason")

    def values(self) -> dict[str, Any] | str:
        reason = _text(self, "#reason")
        return {"reason": reason} if reason else "A rollback needs a reason."


class VetoModal(ActionModal):
    TITLE_TEXT = "Veto"
    OK_LABEL = "Apply"

    def __init__(self, wp_id: str, active: bool) -> None:
        super().__init__(wp_id)
        self.active = active

    def fields(self) -> ComposeResult:
        state = "A veto stands." if self.active else "No veto stands."
        yield Label(state)
        with Horizontal(classes="switch-row"):
            # With a veto standing the dialog is for lifting it; off, it raises another.
            yield Switch(value=self.active, id="lift", disabled=not self.active)
            yield Label("Lift the standing veto" if self.active else "Lift (no veto stands)")
        yield Label("Reason (required):")
        yield Input(placeholder="why", id="reason")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#reason", Input).focus()
        self._label_ok(self.active)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._label_ok(event.value)

    def _label_ok(self, lift: bool) -> None:
        self.query_one("#ok", Button).label = "Lift veto" if lift else "Raise veto"

    def values(self) -> dict[str, Any] | str:
        reason = _text(self, "#reason")
        if not reason:
            return "A veto needs a reason."
        return {"reason": reason, "lift": self.query_one("#lift", Switch).value}


class DismissModal(ActionModal):
    TITLE_TEXT = "Dismiss advisory"
    OK_LABEL = "Dismiss"

    def __init__(self, wp_id: str, advisories: list[dict[str, Any]]) -> None:
        super().__init__(wp_id)
        self.advisories = advisories

    def fields(self) -> ComposeResult:
        yield Label("Advisory:")
        options = [
            (plain(f"{a['id']} · {a['severity']} · {a['prediction']}"), a["id"])
            for a in self.advisories
        ]
        yield Select(
            options,
            prompt="choose an advisory",
            id="advisory",
            value=options[0][1] if len(options) == 1 else Select.NULL,
        )
        yield Label(
            self._reasons(self.advisories[0] if len(self.advisories) == 1 else None),
            id="advisory-reasons",
        )
        yield Label("Reason (required):")
        yield Input(placeholder="why this advisory does not apply", id="reason")

    @staticmethod
    def _reasons(advisory: dict[str, Any] | None) -> Text:
        if advisory is None:
            return Text("")
        return Text("\n").join(plain(f"· {r}", "#9ca3af") for r in advisory.get("reasons", [])[:4])

    def on_select_changed(self, event: Select.Changed) -> None:
        chosen = next((a for a in self.advisories if a["id"] == event.value), None)
        self.query_one("#advisory-reasons", Label).update(self._reasons(chosen))

    def values(self) -> dict[str, Any] | str:
        advisory = self.query_one("#advisory", Select).value
        reason = _text(self, "#reason")
        if advisory is Select.NULL:
            return "Choose the advisory to dismiss."
        if not reason:
            return "A dismissal needs a reason."
        return {"advisory": advisory, "reason": reason}


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question before anything destructive."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No", id="cockpit.confirm.no"),
        Binding("y", "answer(True)", "Yes", id="cockpit.confirm.yes"),
    ]

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        if self.app.screen is self:
            self.dismiss(yes)


def predicate_table(predicates: dict[str, Any]) -> Table:
    """The gate's predicates as a table, details shown literally."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("predicate", no_wrap=True, min_width=22)
    table.add_column("status", no_wrap=True, min_width=14)
    table.add_column("detail", ratio=1)
    order = {p.value: i for i, p in enumerate(Predicate)}  # the gate's order, not the log's
    for name, result in sorted(predicates.items(), key=lambda kv: order.get(kv[0], 99)):
        status = result.get("status", "")
        table.add_row(
            Text(name),
            Text(status, style=STATUS_STYLES.get(status, "")),
            plain(result.get("detail", "")),
        )
    return table


class VerifyResultModal(ModalScreen[None]):
    """The gate's decision, as a predicate table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "close", id="cockpit.verify.close")
    ]

    def __init__(self, wp_id: str, document: dict[str, Any]) -> None:
        super().__init__()
        self.wp_id = wp_id
        self.document = document

    def compose(self) -> ComposeResult:
        doc = self.document
        heading = Text(f"Verify · {self.wp_id} · ", style="bold")
        heading.append_text(outcome(doc["outcome"], doc.get("blocking_predicate")))
        heading.append(f"  ({doc['acceptance_status']})", style="#9ca3af")
        with Vertical(classes="dialog wide"):
            yield Label(heading)
            with VerticalScroll():
                yield Static(predicate_table(doc["predicates"]))
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)


class TextModal(ModalScreen[None]):
    """A file or packet shown as plain text: nothing in it can style or move the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="cockpit.text.close")
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(plain(self.title_text, "bold"))
            with VerticalScroll():
                # As a plain-text "syntax": indentation kept, nothing interpreted.
                yield Static(
                    Syntax(
                        literal(self.body, keep_newlines=True),
                        "text",
                        theme="ansi_dark",
                        word_wrap=True,
                    )
                )
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)
