"""Dispatch: whom to send the work package to, among the eligible principals."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Select

from cockpit.screens.modals.form import ActionModal
from cockpit.screens.text import plain


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
