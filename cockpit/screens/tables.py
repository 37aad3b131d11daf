"""Tables that fit the terminal: a column layout that gives the free-text column what the
others leave (they shrink first, then the least needed go), cells cut with "…", and live
DataTables updated in place by row key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual.scroll_view import ScrollView
from textual.widgets import DataTable

ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int  # its width when there is room (0: the flexible column, which takes the rest)
    minimum: int = 0  # what it may shrink to on a narrow terminal (0: it does not shrink)
    drop: int = 0  # on a terminal too narrow even then, the highest drop goes first (0: never)


def lay_out(
    columns: Sequence[Column], width: int, *, flexible: int = 20, gap: int = 0
) -> list[tuple[Column, int]]:
    """The columns shown in `width` cells, each with its width (`gap` cells are added to
    each). The flexible column takes what the others leave, and at least `flexible` cells
    if it can: to give it that, the other columns shrink toward their minimums (the widest
    first), and when that is not enough the droppable ones go (the highest `drop` first)."""
    shown = list(columns)
    while True:
        fixed = [c for c in shown if c.width]
        widths = {c.key: c.width for c in fixed}
        room = width - sum(widths.values()) - gap * len(shown)
        while room < flexible:
            wide = [c for c in fixed if widths[c.key] > (c.minimum or c.width)]
            if not wide:
                break
            widest = max(wide, key=lambda c: widths[c.key])
            widths[widest.key] -= 1
            room += 1
        droppable = [c for c in shown if c.drop]
        if room >= flexible or not droppable:
            break
        shown.remove(max(droppable, key=lambda c: c.drop))
    return [(c, widths.get(c.key, max(room, 1))) for c in shown]


def fit(text: Text, width: int) -> Text:
    """`text` in at most `width` cells: cut text ends in "…"."""
    if text.cell_len <= width:
        return text
    cut = text.copy()
    cut.truncate(max(width, 1), overflow="ellipsis")
    return cut


def cell(text: Text, width: int) -> Text:
    """`text` in a cell of `width` cells (one of them the gap after it), padded."""
    shown = fit(text, max(width - 1, 1))
    shown = shown.copy() if shown is text else shown
    shown.truncate(max(width - 1, 0), pad=True)
    shown.append(" ")
    shown.end = ""
    return shown


class FitTable(DataTable[Text]):
    """A live DataTable whose columns fit its width (see `lay_out`; each column is as wide
    as its widest cell, up to its `width`), every cut cell ending in "…"."""

    def __init__(self, columns: Sequence[Column], *, flexible: int = 20, id: str | None = None):
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.spec = tuple(columns)
        self.flexible = flexible
        self.cells: dict[str, tuple[Text, ...]] = {}  # every row's cells, in every column
        self.widest = self._widest([])  # each column's widest cell (or header)
        self.laid_out: list[tuple[Column, int]] = []

    def on_resize(self) -> None:
        if self._plan() != self.laid_out:
            self._rebuild()

    def show(self, rows: dict[str, Sequence[Text]]) -> bool:
        """Show `rows` (key → cells in every column, in display order), in place where it
        can. Returns True if the table was rebuilt (callers may then place the cursor)."""
        self.cells = {key: tuple(cells) for key, cells in rows.items()}
        self.widest = self._widest(self.cells.values())
        if self._plan() != self.laid_out or not self.columns:
            self._rebuild()
            return True
        return sync_rows(self, {key: self._shown(cells) for key, cells in self.cells.items()})

    def append(self, key: str, cells: Sequence[Text]) -> None:
        """Add one row at the end (a new event), unless it is shown already."""
        if key in self.cells:
            return
        self.cells[key] = tuple(cells)
        self.widest = [max(a, b) for a, b in zip(self.widest, self._widest([cells]), strict=True)]
        if self._plan() != self.laid_out:
            self._rebuild()
        else:
            self.add_row(*self._shown(self.cells[key]), key=key)

    def _widest(self, rows: Iterable[Sequence[Text]]) -> list[int]:
        widest = [Text(column.header).cell_len for column in self.spec]
        for row in rows:
            widest = [max(w, cell.cell_len) for w, cell in zip(widest, row, strict=True)]
        return widest

    def _plan(self) -> list[tuple[Column, int]]:
        """The layout for the table's width, each column as wide as its widest cell at
        most."""
        natural = []
        for column, wanted in zip(self.spec, self.widest, strict=True):
            width = min(column.width, wanted)
            minimum = min(column.minimum or width, width)
            natural.append(replace(column, width=width, minimum=minimum) if width else column)
        space = (self.size.width or self.app.size.width) - self.styles.scrollbar_size_vertical
        return lay_out(natural, space, flexible=self.flexible, gap=2 * self.cell_padding)

    def _shown(self, cells: tuple[Text, ...]) -> list[Text]:
        index = {column.key: i for i, column in enumerate(self.spec)}
        return [fit(cells[index[column.key]], width) for column, width in self.laid_out]

    def _rebuild(self) -> None:
        """Lay the columns out afresh and add every row again, the cursor kept on its row."""
        self.laid_out = self._plan()
        row = self.cursor_row if self.row_count else 0
        with self.app.batch_update():
            self.clear(columns=True)
            for column, width in self.laid_out:
                self.add_column(column.header, key=column.key, width=width)
            for key, cells in self.cells.items():
                self.add_row(*self._shown(cells), key=key)
            if self.row_count:
                self.move_cursor(row=min(row, self.row_count - 1), animate=False)


def sync_rows(table: DataTable[Any], rows: dict[str, Sequence[Any]]) -> bool:
    """Make `table` show `rows` (key → cells, in display order). Returns True if the table
    was rebuilt (callers may then place the cursor afresh)."""
    with table.app.batch_update():
        wanted = list(rows)
        kept = [key for key in wanted if key in table.rows]
        shown = [str(key.value) for key in table.rows if key.value in rows]
        first_new = next((i for i, key in enumerate(wanted) if key not in table.rows), None)
        # New rows can only be appended: if one belongs before a kept row, rebuild.
        if shown != kept or (first_new is not None and first_new < len(kept)):
            table.clear()
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
            return True
        for key in [k for k in table.rows if k.value not in rows]:
            table.remove_row(key)
        columns = list(table.columns)
        for key in kept:
            for column, old, new in zip(columns, table.get_row(key), rows[key], strict=True):
                if old != new:
                    table.update_cell(key, column, new, update_width=True)
        for key in wanted[len(kept) :]:
            table.add_row(*rows[key], key=key)
        return False


def keep_in_view(view: ScrollView, row: int) -> None:
    """Scroll a virtual list of one-line rows so `row` is on screen, and redraw it."""
    height = view.size.height or 1
    top = round(view.scroll_offset.y)
    if row < top:
        view.scroll_to(y=row, animate=False)
    elif row >= top + height:
        view.scroll_to(y=row - height + 1, animate=False)
    view.refresh()
