"""The diff of one file of a change, as a Line-API view: only the rows on screen are drawn
and highlighted (rows.py builds them, highlight.py colours them), so a 20,000-line diff
opens and scrolls as a screenful does. Each row: the old and new line numbers, the `+`/`-`
mark, the line as data (escapes for control and bidirectional characters, never markup),
on green for an added line and red for a removed one. A cursor row (up/down, page, home,
end; `n`/`p` the next or previous hunk) is where a comment goes (`c`, on the screen).
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import Lexer
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.engine.repo.diff import DiffLine, FileDiff
from cockpit.screens.changes import highlight
from cockpit.screens.changes.drafts import summary
from cockpit.screens.changes.highlight import Highlighter
from cockpit.screens.changes.rows import Note, Row, number_width, shown, text_width
from cockpit.screens.context import cockpit
from cockpit.screens.tables import keep_in_view

ADDED = Style(bgcolor="#0d2a1a")
REMOVED = Style(bgcolor="#3b1219")
MARKS = {
    "+": Style(color="#4ade80", bold=True),
    "-": Style(color="#f87171", bold=True),
    " ": Style(),
}
NUMBER = Style(color="#6b7280")
HUNK = Style(color="#38bdf8")
NOTE = Style(color="#fbbf24", italic=True)
COMMENT = Style(color="#fde68a", bgcolor="#3a2f0b")
HORIZONTAL_STEP = 8  # columns left/right scroll by


class DiffView(ScrollView, can_focus=True):
    """The rows of one file's diff, with a cursor row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First line", show=False),
        Binding("end,G", "jump(-1)", "Last line", show=False),
        Binding("n", "hunk(1)", "Next hunk", show=False),
        Binding("p", "hunk(-1)", "Previous hunk", show=False),
        Binding("left", "sideways(-1)", "Left", show=False),
        Binding("right", "sideways(1)", "Right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"diff--cursor"}
    DEFAULT_CSS = """
    DiffView { height: 1fr; }
    DiffView > .diff--cursor { background: $accent 30%; }
    DiffView:focus > .diff--cursor { background: $accent 55%; }
    """

    cursor: reactive[int] = reactive(0)

    class Moved(Message):
        """The cursor is on another row, or another file is shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.file: FileDiff | None = None
        self.rows: list[Row] = []
        self.message = ""  # said instead of rows when there are none
        self.numbers = 1  # cells of a line number
        self.highlighter: Highlighter | None = None

    # -- what is shown -------------------------------------------------------------------

    def show(self, file: FileDiff | None, rows: list[Row], cursor: int = 0) -> None:
        """Show `rows` of `file` (the cursor on row `cursor`, or the same file kept where
        it was when only its drafts changed)."""
        same = file is not None and self.file is not None and file.path == self.file.path
        if not same or self.highlighter is None:
            self.highlighter = Highlighter(file.path) if file is not None else None
            if self.highlighter is not None and self.highlighter.pending:
                # After the plain lines are on screen: making a lexer holds the GIL.
                self.call_after_refresh(self._make_lexer, self.highlighter)
        elif file is not self.file:
            self.highlighter.forget()  # lines are cached by object: these are new ones
        self.file, self.rows = file, rows
        self.numbers = number_width(file) if file is not None else 1
        width = self.gutter_width + text_width(rows) + 1
        self.virtual_size = Size(width, len(rows))
        self.set_reactive(DiffView.cursor, min(max(cursor, 0), max(len(rows) - 1, 0)))
        if not same:
            self.scroll_to(x=0, y=0, animate=False)
        keep_in_view(self, self.cursor)
        self.post_message(self.Moved())

    def say(self, message: str) -> None:
        """No file: `message` instead (loading, refused, nothing changed)."""
        self.message = message
        self.show(None, [])

    @work(thread=True, group="changes-lexer", exit_on_error=False)
    def _make_lexer(self, highlighter: Highlighter) -> None:
        lexer = highlight.lexer_for(highlighter.path)
        if not cockpit(self).quitting:
            self.app.call_from_thread(self._lexer_made, highlighter, lexer)

    def _lexer_made(self, highlighter: Highlighter, lexer: Lexer | None) -> None:
        highlighter.use(lexer)
        if highlighter is self.highlighter:
            self.refresh()

    @property
    def gutter_width(self) -> int:
        return 2 * self.numbers + 4  # "old new ± "

    @property
    def current(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def line_at(self, index: int) -> DiffLine | None:
        """The diff line at or above row `index` (a draft belongs to the line above)."""
        for row in reversed(self.rows[max(index - 1, 0) : index + 1]):
            if isinstance(row, DiffLine):
                return row
        return None

    # -- drawing -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if not self.rows:
            if y == 1 and self.message:
                text = Text("  " + self.message, style="#9ca3af")
                return Strip(list(text.render(self.app.console))).adjust_cell_length(width)
            return Strip.blank(width)
        if not 0 <= index < len(self.rows):
            return Strip.blank(width)
        row = self.rows[index]
        under = Style()
        if index == self.cursor:
            cursor = self.get_component_rich_style("diff--cursor")
            under = Style(bgcolor=cursor.bgcolor)
        if isinstance(row, DiffLine):
            return self._line(row, under, width)
        return self._note(row, under, width)

    def _numbers(self, line: DiffLine) -> str:
        w = self.numbers
        old = "" if line.old_line is None else str(line.old_line)
        new = "" if line.new_line is None else str(line.new_line)
        return f"{old:>{w}} {new:>{w}} "

    def _line(self, line: DiffLine, under: Style, width: int) -> Strip:
        back = ADDED if line.kind == "+" else REMOVED if line.kind == "-" else Style()
        back = back + under if under.bgcolor else back
        assert self.highlighter is not None
        pieces = self.highlighter.pieces(id(line), shown(line.text))
        content = Strip([Segment(text, style + back) for text, style in pieces])
        if line.no_newline:
            content = Strip.join([content, Strip([Segment(" ⏎̸ no newline at end", NOTE + back)])])
        room = max(width - self.gutter_width, 0)
        left = round(self.scroll_offset.x)
        content = content.crop_extend(left, left + room, back)
        gutter = Strip(
            [
                Segment(self._numbers(line), NUMBER + back),
                Segment(f"{line.kind} ", MARKS[line.kind] + back),
            ]
        )
        return Strip.join([gutter, content]).adjust_cell_length(width, back)

    def _note(self, row: Note, under: Style, width: int) -> Strip:
        if row.kind == "hunk":
            style, text = HUNK, row.text
        elif row.kind == "comment":
            style, text = COMMENT, f"✎ draft: {summary(row.text, shown)}"
        else:
            style, text = NOTE, row.text
        style = style + under if under.bgcolor else style
        pad = " " * self.gutter_width  # notes stay put when the lines scroll sideways
        return Strip([Segment(pad, style), Segment(text, style)]).adjust_cell_length(width, style)

    # -- the cursor ---------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        keep_in_view(self, new)
        self.post_message(self.Moved())

    def on_resize(self) -> None:
        self.watch_cursor(self.cursor, self.cursor)

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor = min(max(self.cursor + delta, 0), len(self.rows) - 1)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 1, 1))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.cursor = len(self.rows) - 1 if where < 0 else 0

    def action_hunk(self, direction: int) -> None:
        """The next (1) or previous (-1) hunk's header."""
        step = 1 if direction > 0 else -1
        index = self.cursor + step
        while 0 <= index < len(self.rows):
            row = self.rows[index]
            if isinstance(row, Note) and row.kind == "hunk":
                self.cursor = index
                return
            index += step

    def action_sideways(self, direction: int) -> None:
        self.scroll_to(x=max(self.scroll_offset.x + direction * HORIZONTAL_STEP, 0), animate=False)

    def go_to(self, line: int, side: str) -> None:
        """Put the cursor on line `line` of side `side` (where a draft is)."""
        for index, row in enumerate(self.rows):
            if isinstance(row, DiffLine) and (
                row.new_line == line if side == "new" and row.kind != "-" else
                row.old_line == line and row.kind != "+" if side == "old" else False
            ):  # fmt: skip
                self.cursor = index
                return

    def on_click(self, event: Click) -> None:
        index = round(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.rows):
            self.cursor = index
