"""Review: a verdict and findings."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Select, TextArea

from cockpit.domain import Verdict
from cockpit.screens.modals.form import ActionModal

VERDICTS = [v.value for v in Verdict]


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
