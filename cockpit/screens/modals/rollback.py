"""Rollback: what will happen to the branch, and a mandatory reason."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label

from cockpit.screens.modals.form import ActionModal, field_text


class RollbackModal(ActionModal):
    """Rollback: a mandatory reason, and what will happen."""

    TITLE_TEXT = "Rollback"
    OK_LABEL = "Roll back…"

    def fields(self) -> ComposeResult:
        yield Label(
            Text(
                f"Branch wp/{self.wp_id} goes back to its base commit and the worktree is "
                f"cleaned; the failed work is kept on wp/{self.wp_id}-failed-<n>."
            ),
            classes="hint",
        )
        yield Label("Reason (required):")
        yield Input(placeholder="why the work is rolled back", id="reason")

    def values(self) -> dict[str, Any] | str:
        reason = field_text(self, "#reason")
        return {"reason": reason} if reason else "A rollback needs a reason."
