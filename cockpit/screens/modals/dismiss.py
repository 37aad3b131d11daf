"""Dismiss an advisory or a progress monitor's flag: which one (with its reasons) and a
mandatory reason."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from cockpit.screens.modals.form import ActionModal, field_text
from cockpit.screens.text import plain


class DismissModal(ActionModal):
    TITLE_TEXT = "Dismiss advisory"
    OK_LABEL = "Dismiss"

    def __init__(self, wp_id: str, advisories: list[dict[str, Any]]) -> None:
        super().__init__(wp_id)
        self.advisories = advisories
        # The progress monitor's flags come as {id, severity: monitor, ...} (choices.dismissable).
        flags = sum(1 for a in advisories if a.get("severity") == "monitor")
        self.what = (
            "advisory"
            if not flags
            else "monitor flag"
            if flags == len(advisories)
            else "advisory or flag"
        )
        self.TITLE_TEXT = f"Dismiss {self.what}"

    def fields(self) -> ComposeResult:
        yield Label(f"{self.what.capitalize()}:")
        options = [
            (plain(f"{a['id']} · {a['severity']} · {a['prediction']}"), a["id"])
            for a in self.advisories
        ]
        yield Select(
            options,
            prompt=f"choose an {self.what}" if self.what[0] == "a" else f"choose a {self.what}",
            id="advisory",
            value=options[0][1] if len(options) == 1 else Select.NULL,
        )
        yield Label(
            self._reasons(self.advisories[0] if len(self.advisories) == 1 else None),
            id="advisory-reasons",
        )
        yield Label("Reason (required):")
        why = "does not apply" if self.what == "advisory" else "needs no action"
        yield Input(placeholder=f"why this {self.what} {why}", id="reason")

    @staticmethod
    def _reasons(advisory: dict[str, Any] | None) -> Text:
        if advisory is None:
            return Text("")
        return Text("\n").join(plain(f"· {r}", "#9ca3af") for r in advisory.get("reasons", [])[:4])

    def on_select_changed(self, event: Select.Changed) -> None:
        chosen = next((a for a in self.advisories if a["id"] == event.value), None)
        self.query_one("#advisory-reasons", Label).update(self._reasons(chosen))

    def values(self) -> dict[str, Any] | str:
        advisory = self.query_one("#advisory", Select).value
        reason = field_text(self, "#reason")
        if advisory is Select.NULL:
            return f"Choose the {self.what} to dismiss."
        if not reason:
            return "A dismissal needs a reason."
        return {"advisory": advisory, "reason": reason}
