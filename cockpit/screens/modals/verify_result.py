"""The gate's decision after a verify started here."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from cockpit.screens.modals.form import dialog_footer
from cockpit.screens.modals.predicates import predicate_table
from cockpit.screens.text import outcome


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
            yield Label(heading, classes="dialog-title")
            with VerticalScroll():
                yield Static(predicate_table(doc["predicates"]))
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")
        yield dialog_footer()

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)
