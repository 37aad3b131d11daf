"""Candidates and canon: every candidate with its redaction state and last gate run, the
Canon Gate's checks for the acting principal (previewed in a worker, recording nothing),
`m` to commission (refused at once, naming the failed checks, when the preview says the
gate would refuse: no confirmation is offered), and a search over canon with each
record's provenance."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cockpit.domain import EventType
from cockpit.engine.canon import candidates as canon
from cockpit.engine.reports import pages
from cockpit.errors import CockpitError
from cockpit.messages import StoreChanged
from cockpit.screens.canon_views import (
    MUTED,
    candidate_cells,
    candidate_view,
    canon_results,
    refusal_text,
)
from cockpit.screens.context import cockpit, read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import Column, FitTable
from cockpit.screens.text import plain

# On a narrow terminal the columns shrink, then the author goes: the last gate run stays.
COLUMNS = (
    Column("id", "id", 20, minimum=10),
    Column("wp", "WP", 10, minimum=8),
    Column("author", "author", 22, minimum=10, drop=1),
    Column("state", "state", 12, minimum=9),
    Column("redaction", "redaction", 9),
    Column("last_gate", "last gate", 0),
)
# Events after which a candidate, its gate preview or the canon list may read differently.
CANON_EVENTS = frozenset(
    {
        EventType.CANDIDATE_CREATED,
        EventType.CANON_GATE_EVALUATED,
        EventType.CANDIDATE_COMMISSIONED,
    }
)


class CanonScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "commission", "commission", id="cockpit.canon.commission"),
        Binding("slash", "search", "search canon", id="cockpit.canon.search"),
        Binding("escape", "back", "back", id="cockpit.canon.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.shown: str | None = None  # the candidate the detail pane is about
        self.decision: canon.CanonDecision | None = None
        self.note = ""
        self.wanted = 0  # the newest preview asked for; older answers are dropped
        self.previewing = False
        self.query_text = ""
        self.searches = 0
        self.show_again = False  # the candidates read on its way changes the detail pane
        self.commission_wanted: str | None = None  # `m` pressed before the gate answered

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FitTable(COLUMNS, flexible=16, id="candidates")
        with VerticalScroll(id="candidate-detail"):
            yield Static(id="candidate-view")
        with Vertical(id="canon-pane"):
            yield Input(
                placeholder="search canon: words (enter searches; empty lists all canon)",
                id="canon-query",
                compact=True,
            )
            with VerticalScroll(id="canon-scroll"):
                yield Static(id="canon-results")
        yield KeyFooter()

    def on_mount(self) -> None:
        app = cockpit(self)
        app.steady_cursors(self)
        table = self.query_one("#candidates", FitTable)
        self.query_one("#candidate-detail").border_title = "candidate"
        self.query_one("#canon-pane").border_title = "canon"
        self.query_one("#status", StatusBar).refresh_from_app("candidates and canon")
        self.load()
        table.focus()
        self.search("")

    # -- candidates ------------------------------------------------------------------------

    @work(thread=True, group="canon-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        """Read the candidates in a worker; `loaded` shows them."""
        read_then(self, pages.candidates, self.loaded)

    def loaded(self, candidates: list[dict[str, Any]]) -> None:
        self.fill(candidates)
        if self.commission_wanted not in self.rows:
            self.commission_wanted = None
        again, self.show_again = self.show_again, False
        if self.rows.get(self.shown or "") is not None and again:
            self.show_selected(again=True)
        elif self.shown is None:
            self.show_selected()

    def fill(self, candidates: list[dict[str, Any]]) -> None:
        """Update the candidates table in place by row key."""
        rows = {r["id"]: r for r in candidates}
        table = self.query_one("#candidates", FitTable)
        table.show({cid: candidate_cells(row) for cid, row in rows.items()})
        self.rows = rows
        if not rows:
            self.query_one("#candidate-view", Static).update(
                Text(
                    "No candidates yet: agents file them as `candidate` entries on an "
                    "accepted work package.",
                    style=MUTED,
                )
            )

    def selected_id(self) -> str | None:
        table = self.query_one("#candidates", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#candidates")
    def highlighted(self) -> None:
        self.show_selected()

    def show_selected(self, *, again: bool = False) -> None:
        """Show the selected candidate now, and its gate checks once the worker has them."""
        cid = self.selected_id()
        if cid is None or (cid == self.shown and not again):
            return
        if cid != self.shown:
            self.shown, self.decision = cid, None
            self.commission_wanted = None
        self.note = "evaluating…"
        self.render_detail()
        self.wanted += 1
        if not self.previewing:
            self.previewing = True
            self.preview(cid, self.wanted)

    def render_detail(self) -> None:
        app = cockpit(self)
        row = self.rows.get(self.shown or "")
        if row is None:
            return
        self.query_one("#candidate-detail").border_title = f"candidate {row['id']}"
        self.query_one("#candidate-view", Static).update(
            candidate_view(row, app.principal, self.decision, self.note)
        )

    @work(thread=True, group="canon-preview", exit_on_error=False)
    def preview(self, candidate_id: str, asked: int) -> None:
        """The Canon Gate's answer for the acting principal, on a connection of its own."""
        app = cockpit(self)
        decision, note = None, ""
        try:
            store = app.open_reader()
            try:
                decision = canon.preview(app.ws, store, candidate_id, app.principal)
            finally:
                store.close()
        except CockpitError as exc:
            note = f"the gate could not be evaluated: {exc}"
        except Exception as exc:
            note = f"the gate could not be evaluated: {type(exc).__name__}: {exc}"
        self._answer(self._previewed, candidate_id, asked, decision, note)

    def _previewed(
        self, candidate_id: str, asked: int, decision: canon.CanonDecision | None, note: str
    ) -> None:
        self.previewing = False
        if not self.is_attached:  # the screen was closed while the gate was asked
            return
        if asked != self.wanted:  # the selection moved on (or the store changed): ask again
            cid = self.shown
            if cid is not None:
                self.previewing = True
                self.preview(cid, self.wanted)
            return
        if candidate_id != self.shown:
            return
        self.decision, self.note = decision, note
        self.render_detail()
        if self.commission_wanted == candidate_id:
            self.commission_wanted = None
            self.commission(candidate_id)

    def _answer(self, callback: Any, *args: Any) -> None:
        """Hand a worker's result to the screen, unless the app is quitting."""
        if not cockpit(self).quitting:
            self.app.call_from_thread(callback, *args)

    @property
    def busy(self) -> bool:
        """A read, preview or search is still on its way (for tests)."""
        return self.previewing or any(
            w.group in ("canon-read", "canon-preview", "canon-search") and not w.is_finished
            for w in self.app.workers
        )

    # -- commission ------------------------------------------------------------------------

    def action_commission(self) -> None:
        app = cockpit(self)
        cid = self.selected_id()
        if cid is None:
            app.say("No candidate is selected.", severity="warning")
            return
        if cid != self.shown:
            self.show_selected()  # its preview starts; the commission waits for it
        if self.previewing or self.show_again:
            self.commission_wanted = cid  # asked once the gate's answer is in
            return
        self.commission(cid)

    def commission(self, candidate_id: str) -> None:
        """Start commissioning `candidate_id`, with the gate's preview: a candidate it would
        refuse is refused at once (the app still says read-only or a missing capability
        first)."""
        decision = self.decision
        refused = None
        if decision is not None and not decision.admits:
            refused = refusal_text(candidate_id, decision)
        cockpit(self).start_commission(candidate_id, refused)

    # -- search ----------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#canon-query", Input).focus()

    @on(Input.Submitted, "#canon-query")
    def submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        self.search(self.query_text)
        self.query_one("#candidates", DataTable).focus()

    def search(self, query: str) -> None:
        self.searches += 1
        self._search(query, self.searches)

    @work(thread=True, group="canon-search", exit_on_error=False)
    def _search(self, query: str, asked: int) -> None:
        app = cockpit(self)
        try:
            store = app.open_reader()
            try:
                shown: RenderableType = canon_results(canon.search(store, query), query)
            finally:
                store.close()
        except Exception as exc:
            shown = plain(f"the search failed: {exc}", "bold #ef4444")
        self._answer(self._searched, asked, shown)

    def _searched(self, asked: int, shown: RenderableType) -> None:
        # an older search finishing late is not shown
        if asked == self.searches and self.is_attached:
            self.query_one("#canon-results", Static).update(shown)

    # -- following the store ---------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        self.query_one("#status", StatusBar).refresh_from_app("candidates and canon")
        canon_moved = any(e.type in CANON_EVENTS for e in message.events)
        shown = self.rows.get(self.shown or "")
        if canon_moved:  # only these events change a candidate's row
            self.show_again = True
            self.load()
        elif shown is not None and shown["work_package"] in message.work_packages:
            self.show_selected(again=True)
        elif self.shown is None:
            self.show_selected()
        if any(e.type == EventType.CANDIDATE_COMMISSIONED for e in message.events):
            self.search(self.query_text)

    def action_back(self) -> None:
        """esc: leave the search field, else go back."""
        if self.focused is self.query_one("#canon-query", Input):
            self.query_one("#candidates", DataTable).focus()
        else:
            self.app.pop_screen()
