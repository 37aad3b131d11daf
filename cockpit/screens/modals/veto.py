"""Veto: raise one, or lift the one that stands, with a mandatory reason."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Switch

from cockpit.screens.modals.form import ActionModal, field_text


class VetoModal(ActionModal):
    TITLE_TEXT = "Veto"
    OK_LABEL = "Apply"

    def __init__(self, wp_id: str, active: bool) -> None:
        super().__init__(wp_id)
        self.active = active

    def fields(self) -> ComposeResult:
        state = "A veto stands." if self.active else "No veto stands."
        yield Label(state)
        with Horizontal(classes="switch-row"):
            # With a veto standing the dialog is for lifting it; off, it raises another.
            yield Switch(value=self.active, id="lift", disabled=not self.active)
            yield Label("Lift the standing veto" if self.active else "Lift (no veto stands)")
        yield Label("Reason (required):")
        yield Input(placeholder="why", id="reason")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#reason", Input).focus()
        self._label_ok(self.active)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._label_ok(event.value)

    def _label_ok(self, lift: bool) -> None:
        self.query_one("#ok", Button).label = "Lift veto" if lift else "Raise veto"

    def values(self) -> dict[str, Any] | str:
        reason = field_text(self, "#reason")
        if not reason:
            return "A veto needs a reason."
        return {"reason": reason, "lift": self.query_one("#lift", Switch).value}
