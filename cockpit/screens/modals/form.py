"""The action dialogs' common form: a title, the subclass's fields, a line for what is
missing, and OK/Back; the answer is a dict of the fields' values, or None if abandoned."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label

from cockpit.screens.context import cockpit


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
        cockpit(self).steady_cursors(self)

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


def field_text(modal: Widget, selector: str) -> str:
    """The stripped value of the Input `selector` in `modal`."""
    return modal.query_one(selector, Input).value.strip()
