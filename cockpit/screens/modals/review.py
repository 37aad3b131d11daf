"""Review: a verdict, among those that apply to the WP as it is, and findings."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Select, TextArea

from cockpit.screens.modals.form import ActionModal
from cockpit.screens.text import plain


class ReviewModal(ActionModal):
    TITLE_TEXT = "Review"
    OK_LABEL = "Record verdict"

    def __init__(self, wp_id: str, state: str, verdicts: list[str]) -> None:
        super().__init__(wp_id)
        self.state = state
        self.verdicts = verdicts  # the engine's word on what applies (in its order)

    def fields(self) -> ComposeResult:
        yield Label(plain(f"Verdict (those that apply in state {self.state}):"))
        yield Select(
            [(v, v) for v in self.verdicts],
            prompt="choose a verdict",
            id="verdict",
            value=self.verdicts[0] if len(self.verdicts) == 1 else Select.NULL,
        )
        yield Label("Findings (one per line):")
        yield TextArea(id="findings")

    def values(self) -> dict[str, Any] | str:
        verdict = self.query_one("#verdict", Select).value
        if verdict is Select.NULL:
            return "Choose a verdict."
        lines = self.query_one("#findings", TextArea).text.splitlines()
        return {"verdict": verdict, "findings": [f.strip() for f in lines if f.strip()]}
