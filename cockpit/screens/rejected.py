"""Rejected entries: the file, the code and the message; enter opens the raw file as
plain text."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from cockpit.app import StoreChanged
from cockpit.engine.reports import board
from cockpit.errors import CockpitError
from cockpit.screens.modals import TextModal
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import plain


class RejectedScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "open raw file", id="cockpit.rejected.open"),
        Binding("escape", "app.pop_screen", "back", id="cockpit.rejected.back"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield DataTable(id="rejected", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#rejected", DataTable)
        table.add_columns("seq", "file", "entry", "code", "message")
        self.fill()
        table.focus()

    def fill(self) -> None:
        app: Any = self.app
        table = self.query_one("#rejected", DataTable)
        table.clear()
        for row in board.rejected(app.store):
            table.add_row(
                Text(str(row["seq"])),
                plain(row["file"]),
                plain(row["entry_id"] or "-"),
                Text(row["code"], style="bold #f97316"),
                plain(row["message"]),
                key=str(row["seq"]),
            )
        self.query_one("#status", StatusBar).refresh_from_app("rejected entries")

    @on(DataTable.RowSelected, "#rejected")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        self._open(int(str(event.row_key.value)))

    def action_open(self) -> None:
        table = self.query_one("#rejected", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._open(int(str(key.value)))

    def _open(self, seq: int) -> None:
        app: Any = self.app
        try:
            name, text = board.rejected_entry_text(app.ws, app.store, seq)
        except CockpitError as exc:
            app.say(str(exc), severity="error")
            return
        row = next(r for r in board.rejected(app.store) if r["seq"] == seq)
        title = f"queue/rejected/{name} · {row['code']}: {row['message']}"
        self.app.push_screen(TextModal(title, text))

    def on_store_changed(self, message: StoreChanged) -> None:
        self.fill()
