"""The live board: every work package, sortable and filterable, with a needs-attention
view; updated in place as events land."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from cockpit.engine.reports import pages
from cockpit.messages import StoreChanged
from cockpit.screens.board_table import BoardTable, header_text, sort_shown
from cockpit.screens.context import cockpit
from cockpit.screens.footer import KeyFooter
from cockpit.screens.keys import VIEWS, WP_ACTIONS, bindings
from cockpit.screens.status_bar import StatusBar

SORT_ORDER = ["id", "state", "age", "updated", "tier", "assignee", "title"]


class BoardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings(WP_ACTIONS),
        *bindings([c for c in VIEWS if not c.action.startswith("app.")]),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.attention = False
        self.sort = "id"

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Input(
            placeholder="filter: words, state:S, assignee:P (enter applies, esc clears)",
            id="filter",
            classes="hidden",
            select_on_focus=False,  # `/` shows the filter in force, to be edited
        )
        yield Static(id="columns", classes="columns")
        yield BoardTable(self._fetch, self._count, cockpit(self).clock, self._locate, id="board")
        yield KeyFooter()

    def on_mount(self) -> None:
        cockpit(self).steady_cursors(self)
        self.query_one(BoardTable).focus()
        self.reload()

    # -- data ------------------------------------------------------------------------------

    def view(self) -> pages.BoardView:
        return pages.parse_board_view(
            self.filter_text,
            attention=self.attention,
            sort=self.sort,
            unstarted_lanes=cockpit(self).unstarted_lanes,
        )

    # The board pages its visible window on the UI thread: one indexed query per page,
    # read by key from the nearest row already read, so scrolling a million rows never
    # waits for a worker.

    def _fetch(
        self, offset: int, limit: int, near: tuple[int, dict[str, Any]] | None, total: int
    ) -> list[dict[str, Any]]:
        store = cockpit(self).store
        return pages.board_page(store, self.view(), offset, limit, near=near, total=total)

    def _locate(self, wp_id: str) -> int | None:
        return pages.board_position(cockpit(self).store, self.view(), wp_id)

    def _count(self) -> int:
        return pages.board_count(cockpit(self).store, self.view())

    def view_label(self) -> str:
        """What the header says of the view. The sort is marked on its column's header; it
        is named here only when no column shows it (`updated`, or one a narrow terminal
        leaves out)."""
        parts = []
        if self.attention:
            parts.append("NEEDS ATTENTION")
        if self.filter_text:
            parts.append(f"filter {self.filter_text!r}")
        if not sort_shown(self._width(), self.sort):
            newest = ", newest first" if self.sort in pages.NEWEST_FIRST else ""
            parts.append(f"sort {self.sort}{newest}")
        return " · ".join(parts)

    def _width(self) -> int:
        return self.query_one(BoardTable).size.width or self.app.size.width

    def reload(self) -> None:
        table = self.query_one(BoardTable)
        table.empty_message = (
            ("Nothing matches this view. esc clears the filter.",)
            if self.filter_text or self.attention
            else BoardTable.empty_message
        )
        table.reload()
        self.query_one("#status", StatusBar).refresh_from_app(self.view_label())
        self.query_one("#columns", Static).update(header_text(self._width(), self.sort))

    def on_resize(self) -> None:
        self.query_one("#columns", Static).update(header_text(self._width(), self.sort))
        self.query_one("#status", StatusBar).refresh_from_app(self.view_label())

    def on_store_changed(self, message: StoreChanged) -> None:
        table = self.query_one(BoardTable)
        # A change can move a row in the sort or in or out of the filter: re-read the
        # visible window (one count, one page), keeping the cursor on its work package.
        with self.app.batch_update():
            table.reload()
        self.query_one("#status", StatusBar).refresh_from_app(self.view_label())

    # -- actions -------------------------------------------------------------------------------

    def selected(self) -> str | None:
        wp_id = self.query_one(BoardTable).selected_id()
        if wp_id is None:
            cockpit(self).say("No work package is selected.", severity="warning")
        return wp_id

    def action_act(self, name: str) -> None:
        wp_id = self.selected()
        if wp_id:
            cockpit(self).start_action(name, wp_id)

    def action_open_stepper(self) -> None:
        wp_id = self.selected()
        if wp_id:
            cockpit(self).open_stepper(wp_id)

    @on(BoardTable.Selected)
    def open_work_package(self, message: BoardTable.Selected) -> None:
        cockpit(self).open_work_package(message.wp_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # `/` is taken before the focused widget sees it (so the keys typed right after it
        # are the field's): in the field itself it is a character.
        if action == "filter":
            return not isinstance(self.focused, Input)
        return True

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.remove_class("hidden")
        field.value = self.filter_text
        field.cursor_position = len(field.value)
        # Focused now, not after a refresh: the keys typed right after `/` are the field's.
        self.set_focus(field)

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        event.input.add_class("hidden")
        self.query_one(BoardTable).focus()
        self.reload()

    def action_toggle_attention(self) -> None:
        self.attention = not self.attention
        self.reload()

    def action_cycle_sort(self) -> None:
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self.reload()

    def key_escape(self) -> None:
        field = self.query_one("#filter", Input)
        if not field.has_class("hidden"):
            field.add_class("hidden")
            self.query_one(BoardTable).focus()
        elif self.filter_text or self.attention:
            self.filter_text = ""
            self.attention = False
            self.reload()
