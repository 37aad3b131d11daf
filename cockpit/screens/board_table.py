"""The board's table: a virtual Line-API view that renders only the visible rows and pages
the rest from SQLite, by key from the nearest row it has read, so a million work packages
cost what one screenful does, at any depth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.screens.tables import Column, cell, fit, keep_in_view, lay_out
from cockpit.screens.text import age, badge, outcome, plain

PAGE = 200

# The board's columns (widths include the gap after each). The title takes what the
# others leave, at least a quarter of the width (TITLE_WIDTH cells on a narrow terminal):
# to give it that the others shrink first, then tier, age and cost go (in that order).
COLUMNS: list[Column] = [
    Column("id", "ID", 10, minimum=9),
    Column("title", "TITLE", 0),
    Column("state", "STATE", 16, minimum=12),
    Column("tier", "TIER", 9, minimum=7, drop=3),
    Column("assignee", "ASSIGNEE", 20, minimum=14),
    Column("verify", "LAST VERIFY", 28, minimum=16),
    Column("cost", "COST", 9, minimum=8, drop=1),
    Column("age", "AGE", 5, drop=2),
]
TITLE_WIDTH = 24
# The sorts a column shows, by the column's key (the `updated` sort has no column).
MARKS = (("overridden", "⚑"), ("vetoed", "✋"))  # the row's flag, its mark beside the state
DELIVERED = "✓"  # beside the state of a WP whose change was delivered (SPEC 11.3)


@lru_cache(maxsize=8)
def columns_for(width: int) -> list[tuple[Column, int]]:
    """The columns shown on a board `width` cells wide, each with its width."""
    return lay_out(COLUMNS, width, flexible=max(TITLE_WIDTH, width // 4))


def cost_text(value: str | None) -> str:
    """What a WP's agents cost so far, `$0.0212` (cents of a cent shown below $10), `-`
    when no run reported a cost."""
    if value is None:
        return "-"
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return "-"
    if not amount.is_finite():
        return "-"
    return f"${amount:.4f}" if amount < 10 else f"${amount:,.2f}"


def state_cell(row: dict[str, Any], width: int) -> Text:
    """The state badge, then a mark for a delivery (✓), an override (⚑) and a standing
    veto (✋), in `width` cells: the badge is cut ("…") before a mark is."""
    marks = Text("".join(mark for flag, mark in MARKS if row.get(flag)))  # after its pad
    marks.stylize("bold #ef4444")
    if row.get("delivery"):
        marks = Text.assemble((DELIVERED, "bold #22c55e"), marks)
    text = fit(badge(row["state"]), max(width - marks.cell_len, 1))
    return Text.assemble(text, marks, end="")


def row_text(row: dict[str, Any], width: int, now: datetime) -> Text:
    """One board row as a line of Text, every agent-written value shown literally."""
    verify = row.get("last_verify") or {}
    cells = {
        "id": plain(row["id"], "bold"),
        "title": plain(row["title"]),
        "state": Text(),  # made for its width below
        "tier": plain(row["tier"]),
        "assignee": plain(row.get("assignee") or "-"),
        "verify": outcome(verify.get("outcome"), verify.get("blocking_predicate")),
        "cost": Text(
            cost_text(row.get("cost_usd")), style="" if row.get("cost_usd") else "#6b7280"
        ),
        "age": Text(age(row.get("created"), now), style="#9ca3af"),
    }
    line = Text(end="")
    for column, w in columns_for(width):
        shown = state_cell(row, w - 1) if column.key == "state" else cells[column.key]
        line.append_text(cell(shown, w))
    return line


def header_text(width: int, sort: str = "id") -> Text:
    """The column names, the sorted column's marked ▲ (its values grow down the board: the
    age sort shows the newest first, so the youngest ages)."""
    line = Text(end="", style="bold")
    for column, w in columns_for(width):
        name = column.header
        if sort == column.key:
            name += " ▲"
        line.append_text(cell(Text(name), w))
    return line


def sort_shown(width: int, sort: str) -> bool:
    """Whether a column of the board at `width` shows the sort (and carries its mark)."""
    return any(sort == column.key for column, _ in columns_for(width))


class BoardTable(ScrollView, can_focus=True):
    """Rows come from `fetch(offset, limit, near, total)` (`near`: a row read before,
    with its index, or None); `count()` says how many there are."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"board--cursor", "board--header"}
    DEFAULT_CSS = """
    BoardTable { height: 1fr; }
    BoardTable > .board--cursor { background: $accent 40%; }
    BoardTable:focus > .board--cursor { background: $accent 60%; }
    """

    cursor: reactive[int] = reactive(0)

    class Selected(Message):
        def __init__(self, wp_id: str) -> None:
            super().__init__()
            self.wp_id = wp_id

    class Highlighted(Message):
        def __init__(self, wp_id: str | None) -> None:
            super().__init__()
            self.wp_id = wp_id

    def __init__(
        self,
        fetch: Callable[[int, int, tuple[int, dict[str, Any]] | None, int], list[dict[str, Any]]],
        count: Callable[[], int],
        now: Callable[[], datetime],
        locate: Callable[[str], int | None] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._fetch = fetch
        self._count = count
        self._locate = locate
        self._now = now
        self._total = 0
        self._cache: dict[int, dict[str, Any]] = {}

    # -- data -------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self._total

    def reload(self) -> None:
        """Recount and re-read the visible window (filter, sort or membership changed),
        keeping the cursor on the same work package when it is still shown."""
        selected = self.selected_id() if self._cache else None
        self._total = self._count()
        self._cache.clear()
        self.virtual_size = Size(self.size.width, self._total)
        if self.cursor >= self._total:
            self.cursor = max(self._total - 1, 0)
        if selected is not None and self._locate is not None:
            index = self._locate(selected)
            if index is not None:
                self.cursor = index
        self.refresh()
        self.post_message(self.Highlighted(self.selected_id()))

    def row_at(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self._total:
            return None
        if index not in self._cache:
            if index - 1 in self._cache:  # scrolling down: the page below
                start = index
            elif index + 1 in self._cache:  # scrolling up: the page above
                start = max(index - PAGE + 1, 0)
            else:
                start = max(index - PAGE // 4, 0)
            near = self._nearest(start, start + PAGE)
            for offset, row in enumerate(self._fetch(start, PAGE, near, self._total)):
                self._cache[start + offset] = row
            if len(self._cache) > PAGE * 5:  # keep memory bounded while scrolling far
                keep = range(start, start + PAGE)
                self._cache = {i: r for i, r in self._cache.items() if i in keep}
        return self._cache.get(index)

    def _nearest(self, start: int, end: int) -> tuple[int, dict[str, Any]] | None:
        """The row read before that is nearest to rows `start`..`end` outside them: the
        page is read by key from it (a page deep down costs what the first one does)."""
        # (rows between, index) of the nearest row above the page and below it
        found = [(start - 1 - i, i) for i in self._cache if i < start]
        found += [(i - end, i) for i in self._cache if i >= end]
        if not found:
            return None
        index = min(found)[1]
        return index, self._cache[index]

    def selected_id(self) -> str | None:
        row = self.row_at(self.cursor)
        return row["id"] if row else None

    # -- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_offset.y) + y
        width = self.size.width
        if self._total == 0 and 1 <= y <= len(self.empty_message):
            return self._message_line(self.empty_message[y - 1], width)
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width)
        text = row_text(row, width, self._now())
        segments = list(text.render(self.app.console))
        strip = Strip(segments).adjust_cell_length(width)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("board--cursor"))
        return strip.apply_style(Style())

    # What an empty board says, a line each (each fits 80 columns; cut with "…" if not).
    empty_message = (
        "No work packages here. Book one: `cockpit new work_package WP-1`,",
        "fill it in, then `cockpit submit WP-1.yaml` (or drop it into queue/new/).",
    )

    def _message_line(self, line: str, width: int) -> Strip:
        text = Text("  " + line, style="#9ca3af")
        text.truncate(width, overflow="ellipsis")
        return Strip(list(text.render(self.app.console))).adjust_cell_length(width)

    def watch_cursor(self, old: int, new: int) -> None:
        keep_in_view(self, new)
        self.post_message(self.Highlighted(self.selected_id()))

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self._total)
        self.watch_cursor(self.cursor, self.cursor)  # keep the cursor on screen

    # -- actions ------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self._total:
            self.cursor = min(max(self.cursor + delta, 0), self._total - 1)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 1, 1))

    def action_jump(self, where: int) -> None:
        if self._total:
            self.cursor = self._total - 1 if where < 0 else 0

    def action_select(self) -> None:
        wp_id = self.selected_id()
        if wp_id:
            self.post_message(self.Selected(wp_id))

    def on_click(self, event: Click) -> None:
        index = round(self.scroll_offset.y) + event.y
        if 0 <= index < self._total:
            if index == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = index


__all__ = ["COLUMNS", "BoardTable", "header_text", "row_text", "sort_shown"]
