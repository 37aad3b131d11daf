"""Dispatch: whom to send the work package to, among the eligible principals; the prompt
says whom it goes to once one is chosen."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Select

from cockpit.screens.modals.form import ActionModal
from cockpit.screens.text import plain


class DispatchModal(ActionModal):
    TITLE_TEXT = "Dispatch"
    OK_LABEL = "Dispatch"

    def __init__(self, wp_id: str, eligible: list[str], lane: str = "") -> None:
        super().__init__(wp_id)
        self.eligible = eligible
        self.lane = lane

    def fields(self) -> ComposeResult:
        chosen = self.eligible[0] if len(self.eligible) == 1 else None
        yield Label(self.prompt(chosen), id="to-prompt")
        yield Select(
            [(plain(p), p) for p in self.eligible],
            prompt="choose an agent",
            id="to",
            value=chosen if chosen is not None else Select.NULL,
        )

    def prompt(self, chosen: str | None) -> Text:
        """What the dialog asks, or, once a principal is chosen, what will happen."""
        lane = f"lane {self.lane}" if self.lane else "the lane"
        if chosen is None:
            return plain(f"Choose who to dispatch to (principals that can claim and serve {lane}):")
        said = Text("Dispatch to ")
        said.append_text(plain(chosen, "bold #facc15"))
        said.append_text(plain(f": it can claim and serves {lane}."))
        return said

    def on_select_changed(self, event: Select.Changed) -> None:
        value = event.value
        chosen = None if value is Select.NULL else str(value)
        self.query_one("#to-prompt", Label).update(self.prompt(chosen))

    def values(self) -> dict[str, Any] | str:
        value = self.query_one("#to", Select).value
        if value is Select.NULL:
            return "Choose who to dispatch to."
        return {"to": value}
