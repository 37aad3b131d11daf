"""Candidates and canon: every candidate with its redaction state and last gate run, the
Canon Gate's checks for the acting principal (previewed in a worker, recording nothing),
`m` to commission, and a search over canon with each record's provenance."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from cockpit.domain import EventType
from cockpit.engine.canon import candidates as canon
from cockpit.engine.reports import pages
from cockpit.errors import CockpitError
from cockpit.messages import StoreChanged
from cockpit.screens.context import cockpit, read_then
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import STATUS_STYLES, plain

COLUMNS = (
    ("id", "id"),
    ("wp", "WP"),
    ("author", "author"),
    ("state", "state"),
    ("redaction", "redaction"),
    ("last_gate", "last gate"),
)
# Events after which a candidate, its gate preview or the canon list may read differently.
CANON_EVENTS = frozenset(
    {
        EventType.CANDIDATE_CREATED,
        EventType.CANON_GATE_EVALUATED,
        EventType.CANDIDATE_COMMISSIONED,
    }
)
MUTED = "#9ca3af"
GOOD, BAD = "#4ade80", "bold #f97316"


# -- rendering (plain data in, Rich renderables out; agent-written text stays literal) -------


def last_gate_text(summary: dict[str, Any] | None) -> Text:
    if not summary:
        return Text("-", style="#6b7280")
    by = summary.get("by") or "?"
    if summary.get("commissioned"):
        return plain(f"commissioned by {by}", GOOD)
    return plain(f"refused ({by}): " + ", ".join(summary.get("failed") or []), BAD)


def candidate_cells(row: dict[str, Any]) -> list[Text]:
    clean = bool((row.get("redaction") or {}).get("clean"))
    state = row["state"]
    return [
        plain(row["id"], "bold"),
        plain(row["work_package"]),
        plain(row["principal"]),
        plain(state, GOOD if state == "commissioned" else "#facc15"),
        Text("clean", style=GOOD) if clean else Text("SECRETS", style="bold #ef4444"),
        last_gate_text(row.get("last_gate")),
    ]


def fields_grid(row: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style=MUTED, no_wrap=True, min_width=9)
    grid.add_column(ratio=1)
    redaction = row.get("redaction") or {}
    if redaction.get("clean"):
        scanned = Text(f"clean ({redaction.get('scanner', '?')})", style=GOOD)
    else:
        scanned = Text("secrets were found and redacted: ", style="bold #ef4444")
        scanned.append_text(plain(redaction.get("detail") or "?"))
    grid.add_row("record", plain(row["record"], keep_newlines=True))
    grid.add_row("source", plain(row.get("source") or "-"))
    grid.add_row("evidence", plain(", ".join(map(str, row.get("evidence") or [])) or "-"))
    grid.add_row("redaction", scanned)
    return grid


def checks_table(decision: canon.CanonDecision) -> Table:
    """The Canon Gate's checks in the gate's order, coloured like the verify predicates."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("check", no_wrap=True, min_width=22)
    table.add_column("status", no_wrap=True, min_width=14)
    table.add_column("detail", ratio=1)
    for name in canon.CHECKS:
        check = decision.checks[name]
        table.add_row(
            Text(name),
            Text(check.status, style=STATUS_STYLES.get(check.status, "")),
            plain(check.detail),
        )
    return table


def evaluation_text(evaluation: Any) -> RenderableType:
    if evaluation is None:
        return Text("the evaluator gave no recommendation", style=MUTED)
    head = Text()
    head.append("evaluator  ", style=MUTED)
    head.append(f"score {evaluation.score / 1000:.3f}", style="bold")
    head.append_text(plain(f"  {evaluation.method}", MUTED))
    parts: list[RenderableType] = [head, Padding(plain(evaluation.detail), (0, 0, 0, 11))]
    for near in evaluation.nearest:
        line = plain(near.canon_id, "bold")
        line.append(f"  similarity {near.similarity / 1000:.3f}", style=MUTED)
        if near.contradiction:
            line.append_text(plain(f"  possible contradiction: {near.contradiction}", BAD))
        line.append("  ")
        line.append_text(plain(near.record))
        parts.append(Padding(line, (0, 0, 0, 11)))
    return Group(*parts)


def gate_heading(principal: str, decision: canon.CanonDecision | None, note: str) -> Text:
    heading = Text()
    heading.append("Canon Gate as ", style="bold")
    heading.append_text(plain(principal, "bold #facc15"))
    if decision is not None:
        if decision.admits:
            heading.append("  would admit", style="bold #4ade80")
        else:
            heading.append("  would refuse: " + ", ".join(decision.failed), style=BAD)
    if note:
        heading.append_text(plain(f"  {note}", MUTED))
    return heading


def candidate_view(
    row: dict[str, Any],
    principal: str,
    decision: canon.CanonDecision | None,
    note: str = "",
) -> Group:
    heading = Text(end="\n")  # plain() ends without one
    heading.append_text(plain(row["id"], "bold"))
    heading.append_text(plain(f"  on {row['work_package']}", "#38bdf8"))
    if row["state"] == "commissioned":
        heading.append_text(plain(f"  canon as {row.get('canon_id')}", "bold #4ade80"))
    parts: list[RenderableType] = [
        heading,
        fields_grid(row),
        Text(""),
        gate_heading(principal, decision, note),
    ]
    if decision is not None:
        parts += [checks_table(decision), evaluation_text(decision.evaluation)]
    return Group(*parts)


def provenance_text(p: dict[str, Any] | None) -> Text:
    """candidate → WP → claim → evidence → verify → commissioning human."""
    if not p:
        return Text("provenance: -", style=MUTED)
    arrow = Text(" → ", style="#38bdf8")
    candidate = p.get("candidate") or {}
    wp = p.get("work_package") or {}
    claim = p.get("claim") or {}
    verify = p.get("verify") or {}
    evidence = ", ".join(str(e.get("id", "?")) for e in p.get("evidence") or []) or "-"
    steps = [
        plain(f"candidate {candidate.get('id')} by {candidate.get('author')}"),
        plain(
            f"{wp.get('id')} {wp.get('state')}" + (" (overridden)" if wp.get("overridden") else "")
        ),
        plain(f"claim {claim.get('id') or '-'}"),
        plain(f"evidence {evidence}"),
        plain(
            f"verify {verify.get('outcome')} @{verify.get('seq')} by {verify.get('verifier')}"
            if verify
            else "no verify"
        ),
        plain(f"commissioned by {p.get('commissioned_by')}", "bold #facc15"),
    ]
    line = Text()
    line.append("provenance  ", style=MUTED)
    for index, step in enumerate(steps):
        if index:
            line.append_text(arrow)
        line.append_text(step)
    return line


def canon_results(rows: list[dict[str, Any]], query: str) -> Group:
    if not rows:
        said = f"No canon record matches {query!r}." if query else "Canon is empty."
        return Group(Text(said, style=MUTED))
    found = f"{len(rows)} canon record{'s' if len(rows) != 1 else ''}"
    parts: list[RenderableType] = [
        Text(f"{found} matching {query!r}" if query else found, style=MUTED)
    ]
    for row in rows:
        head = Text(end="\n")  # plain() ends without one
        head.append_text(plain(row["id"], "bold"))
        head.append("  commissioned by ", style=MUTED)
        head.append_text(plain(row["commissioned_by"], "#facc15"))
        when = str(row["commissioned_at"])[:19].replace("T", " ")
        head.append(f" at {when} (seq {row['seq']})", style=MUTED)
        parts += [
            head,
            Padding(plain(row["record"], keep_newlines=True), (0, 0, 0, 2)),
            Padding(provenance_text(row.get("provenance")), (0, 0, 1, 2)),
        ]
    return Group(*parts)


# -- the screen ------------------------------------------------------------------------------


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

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield DataTable(id="candidates", cursor_type="row", zebra_stripes=True)
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
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        app = cockpit(self)
        app.steady_cursors(self)
        table = self.query_one("#candidates", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
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
        again, self.show_again = self.show_again, False
        if self.rows.get(self.shown or "") is not None and again:
            self.show_selected(again=True)
        elif self.shown is None:
            self.show_selected()

    def fill(self, candidates: list[dict[str, Any]]) -> None:
        """Update the candidates table in place by row key."""
        rows = {r["id"]: r for r in candidates}
        table = self.query_one("#candidates", DataTable)
        with self.app.batch_update():
            for key in [k for k in table.rows if k.value not in rows]:
                table.remove_row(key)
            for cid, row in rows.items():
                cells = candidate_cells(row)
                if cid not in self.rows:
                    table.add_row(*cells, key=cid)
                elif row != self.rows[cid]:
                    for (column, _), value in zip(COLUMNS, cells, strict=True):
                        table.update_cell(cid, column, value, update_width=True)
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
        app.start_commission(cid)

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
