"""The files of a change, one row each, as a Line-API list: the scope mark (owned /
forbidden / outside, each its own sign and colour), the status, the +/- counts, the path
(as data: escapes for what could hide it; the start cut with "…" when long) and what is
special about the file (flagged, binary, a link, a submodule, cut, not shown). Paths the
WP's commits touch whose content does not differ close the list, dimmed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.engine.repo.diff import FileDiff
from cockpit.engine.repo.diff_text import visible

# Each scope mark: its sign and word, its style (distinct without colour too).
SCOPE_MARKS = {
    "owned": ("✓ owned", "#4ade80"),
    "forbidden": ("✗ FORBIDDEN", "bold #fef2f2 on #b91c1c"),
    "outside": ("! outside", "bold #fb923c"),
}
MARK_WIDTH = 12
STATUS_LETTERS = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R"}
FLAG_STYLE = "bold #e879f9"


def scope_mark(scope: str) -> Text:
    word, style = SCOPE_MARKS.get(scope, (scope or "-", ""))
    return Text(word, style=style, end="")


def specials(f: FileDiff) -> list[str]:
    """What the list says of the file beside its path."""
    found = [f"[{f.flag}]"] if f.flag else []
    if f.binary:
        found.append("binary")
    if f.symlink:
        found.append("symlink")
    if f.submodule:
        found.append("submodule")
    if f.omitted:
        found.append("not shown")
    elif f.truncated:
        found.append("cut")
    return found


def cut_start(text: str, width: int) -> str:
    """`text` in `width` cells, its start replaced by "…" when too long (a path's end
    says most)."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if width > 1 else text[:width]


def counts_width(files: tuple[FileDiff, ...]) -> int:
    return max((len(f"+{f.additions} -{f.deletions}") for f in files), default=5)


def file_row(f: FileDiff, width: int, counts: int) -> Text:
    """One file as a row of `width` cells."""
    row = Text(end="", no_wrap=True)
    mark = scope_mark(f.scope)
    mark.truncate(MARK_WIDTH - 1, pad=True)
    row.append_text(mark)
    row.append(" ")
    row.append(STATUS_LETTERS.get(f.status, "?") + " ", style="bold")
    plus, minus = f"+{f.additions}", f"-{f.deletions}"
    row.append(" " * (counts - len(plus) - len(minus) - 1))
    row.append(plus, style="#4ade80")
    row.append(" ")
    row.append(minus, style="#f87171")
    row.append(" ")
    extra = " ".join(specials(f))
    name = visible(f.path)
    if f.status == "renamed" and f.old_path:
        name = f"{visible(f.old_path)} → {name}"
    room = max(width - row.cell_len - (len(extra) + 1 if extra else 0), 8)
    row.append(cut_start(name, room))
    if extra:
        row.append(" ")
        row.append(extra, style=FLAG_STYLE)
    return row


def committed_row(path: str, scope: str, width: int) -> Text:
    row = Text(end="", no_wrap=True, style="#6b7280")
    mark = scope_mark(scope)
    mark.truncate(MARK_WIDTH - 1, pad=True)
    row.append_text(mark)
    row.append(" ")
    said = " (committed, no content change)"
    row.append(cut_start(visible(path), max(width - row.cell_len - len(said), 8)) + said)
    return row


class FileList(ScrollView, can_focus=True):
    """The change's files, a cursor on the one shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home,g", "cursor(-1000000)", "First file", show=False),
        Binding("end,G", "cursor(1000000)", "Last file", show=False),
        Binding("enter", "open", "Open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"files--cursor"}
    DEFAULT_CSS = """
    FileList { overflow-x: hidden; }
    FileList > .files--cursor { background: $accent 30%; }
    FileList:focus > .files--cursor { background: $accent 55%; }
    """

    cursor: reactive[int] = reactive(0)

    class Chosen(Message):
        """The cursor is on another file (`opened`: enter was pressed on it)."""

        def __init__(self, index: int, opened: bool = False) -> None:
            super().__init__()
            self.index = index
            self.opened = opened

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.files: tuple[FileDiff, ...] = ()
        self.committed: tuple[tuple[str, str], ...] = ()
        self.counts = 5

    def show(
        self,
        files: tuple[FileDiff, ...],
        committed: tuple[tuple[str, str], ...] = (),
        cursor: int = 0,
    ) -> None:
        self.files, self.committed = files, committed
        self.counts = counts_width(files)
        self.virtual_size = Size(self.size.width, len(files) + len(committed))
        self.set_reactive(FileList.cursor, min(max(cursor, 0), max(len(files) - 1, 0)))
        self.watch_cursor(self.cursor, self.cursor)

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if index < len(self.files):
            row = file_row(self.files[index], width, self.counts)
        elif index < len(self.files) + len(self.committed):
            path, scope = self.committed[index - len(self.files)]
            row = committed_row(path, scope, width)
        else:
            return Strip.blank(width)
        strip = Strip(list(row.render(self.app.console))).adjust_cell_length(width)
        if index == self.cursor and self.files:
            strip = strip.apply_style(self.get_component_rich_style("files--cursor"))
        return strip

    def watch_cursor(self, old: int, new: int) -> None:
        if self.size.height:
            top = round(self.scroll_offset.y)
            if new < top:
                self.scroll_to(y=new, animate=False)
            elif new >= top + self.size.height:
                self.scroll_to(y=new - self.size.height + 1, animate=False)
        self.refresh()
        if self.files:
            self.post_message(self.Chosen(new))

    def action_cursor(self, delta: int) -> None:
        if self.files:
            self.cursor = min(max(self.cursor + delta, 0), len(self.files) - 1)

    def action_open(self) -> None:
        if self.files:
            self.post_message(self.Chosen(self.cursor, opened=True))

    def on_click(self, event: Click) -> None:
        index = round(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.files):
            self.cursor = index
