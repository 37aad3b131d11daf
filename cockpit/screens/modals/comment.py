"""A review comment on one line of the change (SPEC 11.2): where it is, the line as the
diff shows it, and the comment. It stays a draft until the review is submitted; an
existing draft can be changed or deleted here."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Label, Static, TextArea

from cockpit.screens.modals.form import ActionModal


class CommentModal(ActionModal):
    TITLE_TEXT = "Comment"
    OK_LABEL = "Keep draft"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Taken before the text field, which would delete a character with it.
        Binding("ctrl+d", "delete", "delete draft", id="cockpit.comment.delete", priority=True),
    ]

    def __init__(self, wp_id: str, where: str, code: str, text: str = "") -> None:
        super().__init__(wp_id)
        self.where = where  # path:line, shown (escaped) by the caller
        self.code = code  # the line as the diff shows it
        self.text = text  # the draft's text so far ("": a new comment)

    def fields(self) -> ComposeResult:
        yield Label(Text(self.where, style="bold"))
        yield Static(Text(self.code, style="#d1d5db on #1f2937", no_wrap=True, end=""))
        yield Label("Comment (sent with the review's verdict; a draft until then):")
        yield TextArea(self.text, id="comment")
        if self.text:
            yield Button("Delete draft (^d)", variant="error", id="delete")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.text) if action == "delete" else True

    def values(self) -> dict[str, Any] | str:
        text = self.query_one("#comment", TextArea).text.strip()
        if not text:
            return "Write the comment (esc leaves it)."
        return {"text": text}

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "delete":
            self.action_delete()
        else:
            super().on_button_pressed(event)

    def action_delete(self) -> None:
        if self.app.screen is self and self.text:
            self.dismiss({"delete": True})
