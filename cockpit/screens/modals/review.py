"""Review: a verdict, among those that apply to the WP as it is, and findings; with the
comments drafted on the Changes tab, which the review sends with its verdict (SPEC 11.2)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Select, Static, TextArea

from cockpit.engine.repo.diff_text import visible
from cockpit.screens.changes.drafts import place, summary
from cockpit.screens.modals.form import ActionModal
from cockpit.screens.text import plain


def comments_text(comments: list[dict[str, Any]]) -> Text:
    """Each drafted comment on a line: where, then its first line."""
    shown = Text(end="")
    for n, comment in enumerate(comments):
        if n:
            shown.append("\n")
        at = place(comment["path"], comment["line"], comment.get("side"))
        shown.append(visible(at), style="bold")
        shown.append("  " + summary(str(comment["text"]), visible))
    return shown


class ReviewModal(ActionModal):
    TITLE_TEXT = "Review"
    OK_LABEL = "Record verdict"

    def __init__(
        self,
        wp_id: str,
        state: str,
        verdicts: list[str],
        comments: list[dict[str, Any]] | None = None,
        head: str | None = None,
    ) -> None:
        super().__init__(wp_id)
        self.state = state
        self.verdicts = verdicts  # the engine's word on what applies (in its order)
        self.comments = comments or []  # drafted on the Changes tab: sent with the verdict
        self.head = head  # the commit they were written on (None: not named)

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
        if self.comments:
            count = len(self.comments)
            at = f" on head {self.head[:12]}" if self.head else ""
            yield Label(
                f"{count} comment{'s' if count != 1 else ''} drafted on the Changes tab{at}, "
                "sent with the verdict:"
            )
            yield Static(comments_text(self.comments), id="review-comments")

    def values(self) -> dict[str, Any] | str:
        verdict = self.query_one("#verdict", Select).value
        if verdict is Select.NULL:
            return "Choose a verdict."
        lines = self.query_one("#findings", TextArea).text.splitlines()
        return {
            "verdict": verdict,
            "findings": [f.strip() for f in lines if f.strip()],
            "comments": [dict(c) for c in self.comments],
            "head": self.head,
        }
