"""Live DataTables updated in place by row key: stale keys removed, changed cells updated,
new rows added; a full rebuild only when the rows' order itself changed (a new filter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.scroll_view import ScrollView
from textual.widgets import DataTable


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
