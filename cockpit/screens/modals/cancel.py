"""Cancel: a mandatory reason (a confirmation follows)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Label

from cockpit.screens.modals.form import ActionModal, field_text


class ReasonModal(ActionModal):
    """Cancel: a mandatory reason."""

    TITLE_TEXT = "Cancel"
    OK_LABEL = "Cancel WP…"

    def fields(self) -> ComposeResult:
        yield Label("Reason (required):")
        yield Input(placeholder="why this work package is cancelled", id="reason")

    def values(self) -> dict[str, Any] | str:
        reason = field_text(self, "#reason")
        return {"reason": reason} if reason else "A cancel needs a reason."
