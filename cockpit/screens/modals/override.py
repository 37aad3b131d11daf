"""Override: the state to move to and a mandatory reason (a confirmation follows)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from cockpit.screens.modals.form import ActionModal, field_text


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
        reason = field_text(self, "#reason")
        if target is Select.NULL:
            return "Choose the state to move to."
        if not reason:
            return "An override needs a reason."
        return {"to": target, "reason": reason}
