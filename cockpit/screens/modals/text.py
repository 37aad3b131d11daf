"""A file or packet shown as plain text."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from cockpit.engine.text import literal
from cockpit.screens.modals.form import dialog_footer
from cockpit.screens.text import plain


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
            yield Label(plain(self.title_text, "bold"), classes="dialog-title")
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
        yield dialog_footer()

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)
