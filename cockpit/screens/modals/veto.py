"""Veto: raise one when none stands, or lift the one that stands, with a mandatory reason.
Only the one that applies is offered."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label

from cockpit.screens.modals.form import ActionModal, field_text


class VetoModal(ActionModal):
    TITLE_TEXT = "Veto"

    def __init__(self, wp_id: str, active: bool) -> None:
        super().__init__(wp_id)
        self.active = active  # a veto stands: the dialog lifts it; else it raises one

    def heading(self) -> str:
        return "Lift the veto" if self.active else "Raise a veto"

    def ok_label(self) -> str:
        return "Lift veto" if self.active else "Raise veto"

    def fields(self) -> ComposeResult:
        said = (
            "A veto stands: lifting it lets the gate admit this work package again."
            if self.active
            else "No veto stands: raising one stops the gate admitting this work package "
            "until the veto is lifted."
        )
        yield Label(Text(said, style="#fbbf24"), classes="question")
        yield Label("Reason (required):")
        why = "why the veto is lifted" if self.active else "why the gate must not admit it"
        yield Input(placeholder=why, id="reason")

    def values(self) -> dict[str, Any] | str:
        reason = field_text(self, "#reason")
        if not reason:
            return "A veto needs a reason."
        return {"reason": reason, "lift": self.active}
