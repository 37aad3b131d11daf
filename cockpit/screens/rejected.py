"""Rejected entries: the file, the code and the message; enter opens the raw file as
plain text."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable

from cockpit.engine.reports import board
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError
from cockpit.messages import StoreChanged
from cockpit.screens.context import cockpit, read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.modals import TextModal
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import Column, FitTable
from cockpit.screens.text import plain
from cockpit.store import Store

# On a narrow terminal the columns shrink, then the entry goes: the message stays.
COLUMNS = (
    Column("seq", "seq", 8),
    Column("file", "file", 32, minimum=12),
    Column("entry", "entry", 14, minimum=8, drop=1),
    Column("code", "code", 22, minimum=12),
    Column("message", "message", 0),
)


def raw_file(ws: Workspace, store: Store, seq: int) -> tuple[str, str] | str:
    """The rejected file's name and text, or the sentence saying why it cannot be shown."""
    try:
        return board.rejected_entry_text(ws, store, seq)
    except CockpitError as exc:
        return str(exc)


class RejectedScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "open raw file", id="cockpit.rejected.open"),
        Binding("escape", "app.pop_screen", "back", id="cockpit.rejected.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FitTable(COLUMNS, flexible=24, id="rejected")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#rejected", FitTable)
        self.query_one("#status", StatusBar).refresh_from_app("rejected entries")
        self.load()
        table.focus()

    @work(thread=True, group="rejected-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        read_then(self, board.rejected, self.show)

    def show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {row["seq"]: row for row in rows}
        cells = {
            str(row["seq"]): (
                Text(str(row["seq"])),
                plain(row["file"]),
                plain(row["entry_id"] or "-"),
                Text(row["code"], style="bold #f97316"),
                plain(row["message"]),
            )
            for row in rows
        }
        self.query_one("#rejected", FitTable).show(cells)
        self.query_one("#status", StatusBar).refresh_from_app("rejected entries")

    @on(DataTable.RowSelected, "#rejected")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        self.open_file(int(str(event.row_key.value)))

    def action_open(self) -> None:
        table = self.query_one("#rejected", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self.open_file(int(str(key.value)))

    @work(thread=True, group="rejected-file-read", exclusive=True, exit_on_error=False)
    def open_file(self, seq: int) -> None:
        ws = cockpit(self).ws
        read_then(
            self,
            lambda store: raw_file(ws, store, seq),
            lambda found: self._show_file(seq, found),
        )

    def _show_file(self, seq: int, found: tuple[str, str] | str) -> None:
        if isinstance(found, str):
            cockpit(self).say(found, severity="error")
            return
        name, text = found
        row = self.rows.get(seq)
        said = f" · {row['code']}: {row['message']}" if row else ""
        self.app.push_screen(TextModal(f"queue/rejected/{name}{said}", text))

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load()
