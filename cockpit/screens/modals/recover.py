"""Recover: a recovery owner and the next action."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Label

from cockpit.screens.modals.form import ActionModal, field_text


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
        owner, action = field_text(self, "#owner"), field_text(self, "#next_action")
        if not owner or not action:
            return "A recovery needs an owner and a next action."
        return {"owner": owner, "next_action": action}
