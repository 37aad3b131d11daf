"""The action dialogs' common form: a title, the subclass's fields, OK/Back with a line for
what is missing beside them, and a footer of the dialog's own keys; the answer is a dict of
the fields' values, or None if abandoned. Title and buttons stay in view; the fields
scroll between them when the terminal is short."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, TextArea

from cockpit.screens.context import cockpit


def dialog_box(*classes: str) -> VerticalScroll:
    """A dialog's frame: it scrolls what does not fit, and is never focused itself (the
    first field is)."""
    return VerticalScroll(classes=" ".join(("dialog", *classes)), can_focus=False)


def dialog_footer() -> Footer:
    """The footer of a dialog: its own keys, as the board's footer shows the board's."""
    return Footer(compact=True, show_command_palette=False)


class ActionModal(ModalScreen[dict[str, Any] | None]):
    """A titled form with OK/Back; subclasses yield fields and read their values."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "submit", id="cockpit.modal.submit"),
        Binding("escape", "cancel", "back", id="cockpit.modal.cancel"),
    ]
    TITLE_TEXT = ""
    OK_LABEL = "OK"

    def __init__(self, wp_id: str) -> None:
        super().__init__()
        self.wp_id = wp_id

    def compose(self) -> ComposeResult:
        with dialog_box():
            yield Label(
                Text(f"{self.heading()} · {self.wp_id}", style="bold"), classes="dialog-title"
            )
            yield from self.fields()
            with Horizontal(classes="buttons"):
                yield Label("", id="problem", classes="problem")
                yield Button(self.ok_label(), variant="primary", id="ok")
                yield Button("Back (esc)", id="cancel")
        yield dialog_footer()

    def on_mount(self) -> None:
        cockpit(self).steady_cursors(self)

    def fields(self) -> ComposeResult:
        yield from ()

    def heading(self) -> str:
        return self.TITLE_TEXT

    def ok_label(self) -> str:
        return self.OK_LABEL

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

    @on(Input.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def field_changed(self) -> None:
        self.say_problem("")

    def say_problem(self, problem: str) -> None:
        """Show what is missing (empty: nothing is); a field changed clears it."""
        if self.is_mounted:
            self.query_one("#problem", Label).update(Text(problem, style="bold #ef4444"))

    def action_submit(self) -> None:
        if self.app.screen is not self:  # a second Enter after dismiss must not pop the board
            return
        answer = self.values()
        if isinstance(answer, str):
            self.say_problem(answer)
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)


def field_text(modal: Widget, selector: str) -> str:
    """The stripped value of the Input `selector` in `modal`."""
    return modal.query_one(selector, Input).value.strip()
