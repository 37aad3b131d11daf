"""The work package screen's Transcript tab: one agent run's transcript as readable rows
(time, kind, who, text), tailed live while the agent runs, the WP's runs to step through
(`[` / `]`), and the selected row's raw record on demand (`t`).

Everything here was printed by an agent: it is shown as plain Text (never markup), with
control characters and bidirectional overrides made visible. The rows live in a Line-API
view that renders only what is on screen and keeps the newest MAX_ROWS, so a fast agent
costs what one screenful does; how many older rows were dropped is said in the header.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import Click, MouseScrollUp
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from cockpit.engine.drivers.transcript import Line, TranscriptTail, runs, transcript_path
from cockpit.screens.context import cockpit
from cockpit.screens.tables import cell, keep_in_view
from cockpit.screens.text import plain

MAX_ROWS = 5000  # rows kept in the view; older ones are dropped (and counted)
TICK_SECONDS = 0.25  # how often a live transcript is looked at

# (header, width); the text takes what is left.
COLUMNS: list[tuple[str, int]] = [("TIME", 9), ("KIND", 12), ("WHO", 6)]
KIND_STYLES = {
    "message": "",
    "thinking": "italic #9ca3af",
    "tool_call": "#38bdf8",
    "tool_result": "#a5b4fc",
    "system": "#6b7280",
    "result": "bold #4ade80",
    "error": "bold #ef4444",
    "usage": "#c084fc",
    "text": "",
    "end": "bold #facc15",
}
WHO_STYLES = {"agent": "bold", "user": "#60a5fa", "tool": "#9ca3af", "cli": "#6b7280"}
EMPTY = "No agent run yet: its transcript shows here once the runner starts one."


def one_line(text: str) -> str:
    """A row's text on one line: line breaks shown as ⏎, tabs as spaces."""
    return text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", "  ")


def row_text(line: Line, width: int) -> Text:
    """One transcript row as a line of plain Text (the agent's words never as markup)."""
    text_width = max(width - sum(w for _, w in COLUMNS), 10)
    style = KIND_STYLES.get(line.kind, "")
    cells = [
        (Text(line.ts[11:19], style="#9ca3af"), COLUMNS[0][1]),
        (plain(line.kind, style), COLUMNS[1][1]),
        (plain(line.who, WHO_STYLES.get(line.who, "")), COLUMNS[2][1]),
        (plain(one_line(line.text), style if line.kind != "message" else ""), text_width),
    ]
    shown = Text(end="")
    for text, w in cells:
        shown.append_text(cell(text, w))
    return shown


def header_text(width: int) -> Text:
    shown = Text(end="", style="bold")
    for name, w in COLUMNS:
        shown.append_text(cell(Text(name), w))
    shown.append("TEXT")
    return shown


def raw_text(line: Line) -> Text:
    """The record the row came from, as written: pretty-printed JSON (or the text line),
    as plain text."""
    raw = line.raw
    if isinstance(raw, dict | list):
        body = json.dumps(raw, indent=2, ensure_ascii=False)
    else:
        body = str(raw)
    return plain(body.replace("\t", "  "), keep_newlines=True)


def detail_text(line: Line | None, raw: bool) -> Text:
    if line is None:
        return Text("")
    where = f"line {line.n}" if line.n >= 0 else "end of run"
    head = Text(f"{where} · {line.ts or '-'} · {line.kind} · {line.who}", style="#9ca3af")
    head.append("  (raw record, t: text)\n" if raw else "  (t: raw record)\n", style="#6b7280")
    body = raw_text(line) if raw else plain(line.text.replace("\t", "  "), keep_newlines=True)
    return head.append_text(body)


class TranscriptLog(ScrollView, can_focus=True):
    """The rows of one transcript, the newest MAX_ROWS; follows the end while its cursor is
    on the last row (moving up or scrolling up stops that; `G` follows again)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Follow", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"transcript--cursor"}
    DEFAULT_CSS = """
    TranscriptLog { height: 1fr; overflow-x: hidden; }
    TranscriptLog > .transcript--cursor { background: $accent 40%; }
    TranscriptLog:focus > .transcript--cursor { background: $accent 60%; }
    """

    cursor: reactive[int] = reactive(0)

    class Moved(Message):
        """The cursor is on another row (or the rows changed under it)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []
        self.dropped = 0  # older rows no longer kept
        self.follow = True
        self.empty_message = ""

    def clear(self, empty_message: str = "") -> None:
        self.lines = []
        self.dropped = 0
        self.follow = True
        self.empty_message = empty_message
        self.set_reactive(TranscriptLog.cursor, 0)
        self.virtual_size = Size(self.size.width, 0)
        self.scroll_to(y=0, animate=False)
        self.refresh()
        self.post_message(self.Moved())

    def extend(self, lines: list[Line]) -> None:
        if not lines:
            return
        self.lines.extend(lines)
        excess = len(self.lines) - MAX_ROWS
        if excess > 0:
            del self.lines[:excess]
            self.dropped += excess
            if not self.follow:  # keep the rows being read where they are
                self.set_reactive(TranscriptLog.cursor, max(self.cursor - excess, 0))
                self.scroll_to(y=max(self.scroll_offset.y - excess, 0), animate=False)
        self.virtual_size = Size(self.size.width, len(self.lines))
        if self.follow:
            self.cursor = len(self.lines) - 1
            self.scroll_to(y=max(len(self.lines) - (self.size.height or 1), 0), animate=False)
        self.refresh()
        self.post_message(self.Moved())

    @property
    def selected(self) -> Line | None:
        return self.lines[self.cursor] if 0 <= self.cursor < len(self.lines) else None

    # -- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if not self.lines:
            if y == 1 and self.empty_message:
                text = Text("  " + self.empty_message, style="#9ca3af")
                return Strip(list(text.render(self.app.console))).adjust_cell_length(width)
            return Strip.blank(width)
        if not 0 <= index < len(self.lines):
            return Strip.blank(width)
        strip = Strip(list(row_text(self.lines[index], width).render(self.app.console)))
        strip = strip.adjust_cell_length(width)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("transcript--cursor"))
        return strip.apply_style(Style())

    def watch_cursor(self, old: int, new: int) -> None:
        keep_in_view(self, new)
        self.post_message(self.Moved())

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.lines))
        self.watch_cursor(self.cursor, self.cursor)

    # -- keys and mouse -----------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self.lines:
            self.cursor = min(max(self.cursor + delta, 0), len(self.lines) - 1)
            self.follow = self.cursor == len(self.lines) - 1

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 1, 1))

    def action_jump(self, where: int) -> None:
        if self.lines:
            self.cursor = len(self.lines) - 1 if where < 0 else 0
        self.follow = where < 0

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self.follow = False  # the user looks back: new rows no longer pull the view down

    def on_click(self, event: Click) -> None:
        index = round(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.lines):
            self.cursor = index
            self.follow = index == len(self.lines) - 1


class TranscriptView(Vertical):
    """A WP's agent runs: the one shown (the latest unless another is chosen), tailed
    every TICK_SECONDS while it has not ended; a new run is followed when the latest was
    shown."""

    DEFAULT_CSS = """
    TranscriptView { height: 1fr; }
    TranscriptView > #transcript-head { height: 1; padding: 0 1; background: $boost; }
    TranscriptView > #transcript-columns { height: 1; color: $text-muted; }
    TranscriptView > #transcript-pane { height: 7; border-top: solid $primary-darken-2;
                                        padding: 0 1; }
    TranscriptView.raw > #transcript-pane { height: 1fr; }
    """

    def __init__(self, wp_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.wp_id = wp_id
        self.runs: list[int] = []
        self.run: int | None = None
        self.tail: TranscriptTail | None = None
        self.raw = False
        self._reading: TranscriptTail | None = None  # the tail a worker reads now
        self.agent: dict[str, Any] | None = None  # the WP's last agent run, as recorded
        self._shown: tuple[int, int, bool] | None = None  # the run, row and mode shown

    def compose(self) -> ComposeResult:
        yield Static(id="transcript-head")
        yield Static(header_text(200), id="transcript-columns")
        yield TranscriptLog(id="transcript-log")
        with VerticalScroll(id="transcript-pane"):
            yield Static(id="transcript-detail")

    def on_mount(self) -> None:
        self.rows.clear(EMPTY)
        self.rescan()
        self.show_head()
        self.set_interval(TICK_SECONDS, self.tick)

    @property
    def rows(self) -> TranscriptLog:
        return self.query_one(TranscriptLog)

    def _path(self, run: int) -> Path:
        return transcript_path(cockpit(self).ws, self.wp_id, run)

    # -- runs --------------------------------------------------------------------------------

    def rescan(self) -> None:
        """Look for new runs; go to the newest when the newest (or nothing) was shown."""
        found = runs(cockpit(self).ws, self.wp_id)
        if found == self.runs:
            return
        on_latest = self.run is None or not self.runs or self.run == self.runs[-1]
        self.runs = found
        if found and (on_latest or self.run not in found):
            self.open(found[-1])
        elif not found:
            self.run, self.tail = None, None
            self.rows.clear(EMPTY)
        self.show_head()

    def open(self, run: int) -> None:
        self.run = run
        self.tail = TranscriptTail(self._path(run))
        self.rows.clear()
        self.show_head()
        self.tick()

    def step(self, delta: int) -> None:
        """Show the previous (-1) or next (+1) run."""
        if self.run is None or self.run not in self.runs:
            return
        index = self.runs.index(self.run) + delta
        if 0 <= index < len(self.runs):
            self.open(self.runs[index])

    def set_agent(self, agent: dict[str, Any] | None) -> None:
        """The WP's last agent run as the store has it (`attempt`, `running`): a run it
        says is over whose transcript has no end record was lost (its runner died)."""
        self.agent = agent
        self.tick()  # read what the run wrote last before saying it never ended
        self.show_head()

    @property
    def lost(self) -> bool:
        agent, tail, run = self.agent, self.tail, self.run
        if agent is None or tail is None or run is None or tail.ended or self._reading is tail:
            return False
        attempt = agent.get("attempt") or 0
        return run < attempt or (run == attempt and not agent.get("running"))

    def toggle_raw(self) -> None:
        self.raw = not self.raw
        self.set_class(self.raw, "raw")
        self.show_detail()

    # -- tailing -----------------------------------------------------------------------------

    def tick(self) -> None:
        """Read what the shown run added (only when its file grew: an idle look costs a
        stat), else look for a new run."""
        tail = self.tail
        if tail is not None and not tail.ended and self.run is not None:
            if self._reading is tail:
                return  # the last look is still being read
            try:
                grown = self._path(self.run).stat().st_size > tail.offset
            except OSError:
                grown = False
            if grown:
                self._reading = tail
                self.read(tail)
                return
        self.rescan()

    @work(thread=True, group="transcript-read", exit_on_error=False)
    def read(self, tail: TranscriptTail) -> None:
        """Read what was added (in a thread: a fast agent may have written megabytes)."""
        app = cockpit(self)
        lines: list[Line] = []
        try:
            lines = tail.read()
        finally:
            if not app.quitting:
                self.app.call_from_thread(self.take, tail, lines)

    def take(self, tail: TranscriptTail, lines: list[Line]) -> None:
        if self._reading is tail:
            self._reading = None
        if tail is not self.tail or not self.is_attached:
            return  # another run is shown now
        self.rows.extend(lines)
        self.show_detail()  # now, with the rows: the pane never lags a frame behind
        self.show_head()

    # -- showing ----------------------------------------------------------------------------

    def show_head(self) -> None:
        head = Text(end="")
        if self.run is None or self.tail is None:
            head.append("no agent run yet", style="#9ca3af")
        else:
            head.append(f"run {self.run} of {self.runs[-1] if self.runs else '?'}", style="bold")
            driver = (self.tail.header or {}).get("driver") or "?"
            head.append(" · ")
            head.append_text(plain(driver, "#38bdf8"))
            head.append(" · ")
            if self.tail.ended:
                head.append("ended", style="bold #9ca3af")
            elif self.lost:
                head.append("over, without an end record (lost)", style="bold #f97316")
            else:
                head.append("live", style="bold #4ade80")
            log = self.rows
            head.append(f" · {len(log.lines)} rows", style="#9ca3af")
            if log.dropped:
                head.append(f" ({log.dropped} older rows dropped)", style="#f97316")
            if log.lines and not log.follow and not self.tail.ended:
                head.append("  · G follows", style="#6b7280")
            head.append("   [ ] runs · t raw", style="#6b7280")
        self.query_one("#transcript-head", Static).update(head)

    def show_detail(self) -> None:
        log = self.rows
        key = (self.run or 0, log.dropped + log.cursor if log.lines else -1, self.raw)
        if key == self._shown:
            return
        self._shown = key
        self.query_one("#transcript-detail", Static).update(detail_text(log.selected, self.raw))

    def on_transcript_log_moved(self, message: TranscriptLog.Moved) -> None:
        message.stop()
        self.show_detail()
        self.show_head()


__all__ = ["MAX_ROWS", "TranscriptLog", "TranscriptView", "row_text"]
