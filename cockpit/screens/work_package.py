"""One work package: its fields and common ground, and tabs for lineage, packets (with
diffs), the last gate run, its audit events, its agent runs' transcripts and its change
(with review comments drafted on its lines)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    ListItem,
    ListView,
    Static,
    TabbedContent,
    TabPane,
    Tree,
)

from cockpit.engine.reports import pages
from cockpit.engine.reports.pages import WorkPackagePage
from cockpit.engine.text import literal
from cockpit.messages import StoreChanged
from cockpit.screens.audit import COLUMNS as AUDIT_SCREEN_COLUMNS
from cockpit.screens.changes.view import ChangesView
from cockpit.screens.context import cockpit, read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.keys import CHANGES, TRANSCRIPT, WP_ACTIONS, WP_TABS, bindings
from cockpit.screens.modals.predicates import predicate_table
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import FitTable
from cockpit.screens.text import outcome, plain
from cockpit.screens.transcript import TranscriptView
from cockpit.screens.wp_fields import fields_table
from cockpit.store import Event

# The audit screen's columns less the WP's own (one WP here).
AUDIT_COLUMNS = tuple(column for column in AUDIT_SCREEN_COLUMNS if column.key != "wp")
FIELDS_HEIGHT = 14  # the fields' most lines; fewer on a short terminal, to leave the tabs room


def wp_bindings() -> list[Binding]:
    """The WP's actions with the Changes tab's keys just before cancel's `c`: on that tab
    `c` comments (cancel on the others), and the footer keeps the actions' order."""
    actions = bindings(WP_ACTIONS)
    at = next(i for i, b in enumerate(actions) if b.key == "c")
    return [*actions[:at], *bindings(CHANGES), *actions[at:]]


class WorkPackageScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *wp_bindings(),
        *bindings(TRANSCRIPT),
        *bindings(WP_TABS),
        Binding("escape", "app.pop_screen", "back", id="cockpit.wp.back"),
    ]
    TRANSCRIPT_ACTIONS = frozenset(c.action.partition("(")[0] for c in TRANSCRIPT)
    CHANGES_ACTIONS = frozenset(c.action.partition("(")[0] for c in CHANGES)

    def __init__(self, wp_id: str) -> None:
        super().__init__()
        self.wp_id = wp_id
        self.packets: list[Syntax] = []
        self.packet_keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="wp-fields")
        with TabbedContent(id="tabs"):
            with TabPane("Lineage", id="tab-lineage"):
                yield Tree(Text(self.wp_id), id="lineage")
            with TabPane("Packets", id="tab-packets"):
                with Horizontal():
                    yield ListView(id="packet-list", classes="packet-list")
                    with VerticalScroll():
                        yield Static(id="packet-body")
            with TabPane("Verify", id="tab-verify"):
                with VerticalScroll():
                    yield Static(id="verify-body")
            with TabPane("Audit", id="tab-audit"):
                yield FitTable(AUDIT_COLUMNS, flexible=24, id="wp-audit")
            with TabPane("Transcript", id="tab-transcript"):
                yield TranscriptView(self.wp_id, id="transcript")
            with TabPane("Changes", id="tab-changes"):
                yield ChangesView(self.wp_id, id="changes")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.fit_fields()
        self.query_one("#status", StatusBar).refresh_from_app(f"work package {self.wp_id}")
        self.load()

    @work(thread=True, group="wp-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        lanes = cockpit(self).unstarted_lanes
        read_then(self, lambda store: pages.work_package_page(store, self.wp_id, lanes), self.show)

    def show(self, page: WorkPackagePage) -> None:
        self.query_one("#status", StatusBar).refresh_from_app(f"work package {self.wp_id}")
        self.query_one("#wp-fields", Static).update(fields_table(page.detail, page.ground))
        self._fill_lineage(page.lineage)
        self._fill_packets(page)
        self._fill_verify(page.last_verify)
        self._fill_audit(page.steps)
        self.query_one(TranscriptView).set_agent(page.detail.get("agent"))

    def _fill_lineage(self, document: dict[str, Any]) -> None:
        tree = self.query_one("#lineage", Tree)
        tree.clear()
        tree.root.set_label(plain(self.wp_id, "bold"))
        outgoing: dict[str, list[dict[str, str]]] = {}
        for edge in document["edges"]:
            outgoing.setdefault(edge["from"], []).append(edge)
        for node in document["nodes"]:
            label = Text(f"{node['seq']:>4} ", style="#6b7280")
            label.append_text(plain(node["id"], "bold"))
            label.append(f"  {node['kind']}", style="#9ca3af")
            if node.get("outcome"):
                label.append("  ")
                label.append_text(outcome(node["outcome"], node.get("blocking_predicate")))
            if node.get("severity"):
                label.append(f"  {node.get('prediction')} ({node['severity']})", style="#fbbf24")
            move = node.get("transition")
            if move:
                label.append(f"  {move['from'] or ''} → {move['to']}", style="#38bdf8")
            edges = outgoing.get(node["id"], [])
            branch = tree.root.add(label, expand=True) if edges else tree.root.add_leaf(label)
            for edge in edges:
                leaf = Text(f"{edge['rel']} → ", style="#9ca3af")
                leaf.append_text(plain(edge["to"]))
                branch.add_leaf(leaf)
        tree.root.expand()

    def _fill_packets(self, page: WorkPackagePage) -> None:
        """The packet list: each entry's YAML, then the diffs. Rebuilt only when the set
        of packets changed (items carry no ids: a rebuild never collides with the old)."""
        items: list[tuple[str, Text, Syntax]] = []
        for entry in page.entries:
            body = Syntax(
                literal(entry["raw"] or "", keep_newlines=True),
                "yaml",
                theme="ansi_dark",
                line_numbers=True,
                word_wrap=True,
            )
            items.append((f"packet {entry['seq']}", plain(f"{entry['id']}  {entry['kind']}"), body))
        for diff in page.diffs:
            body = Syntax(
                literal(diff["diff"] or "(no difference)", keep_newlines=True),
                "diff",
                theme="ansi_dark",
                word_wrap=True,
            )
            label = plain(f"diff {diff['from']} → {diff['to']}", "#c084fc")
            items.append((f"diff {diff['from']} {diff['to']}", label, body))
        keys = [key for key, _, _ in items]
        if keys == self.packet_keys:
            return
        self.packet_keys = keys
        self.packets = [body for _, _, body in items]
        view = self.query_one("#packet-list", ListView)
        view.clear()
        view.extend(ListItem(Static(label)) for _, label, _ in items)
        first: Syntax | Text = self.packets[0] if self.packets else Text("No packets yet.")
        self.query_one("#packet-body", Static).update(first)

    @on(ListView.Highlighted, "#packet-list")
    def show_packet(self, event: ListView.Highlighted) -> None:
        index = event.list_view.index
        if index is not None and 0 <= index < len(self.packets):
            self.query_one("#packet-body", Static).update(self.packets[index])

    def _fill_verify(self, verify: Event | None) -> None:
        body = self.query_one("#verify-body", Static)
        if verify is None:
            body.update(Text("The gate has not run on this work package yet.", style="#9ca3af"))
            return
        payload = verify.payload
        heading = Text(
            f"seq {verify.seq} · mode {payload.get('mode')} · verifier ", style="#9ca3af"
        )
        heading.append_text(plain(payload.get("verifier") or "-"))
        heading.append(" · ")
        heading.append_text(outcome(payload.get("outcome"), payload.get("blocking_predicate")))
        heading.append(f" ({payload.get('acceptance_status')})", style="#9ca3af")
        body.update(Group(heading, Text(""), predicate_table(payload.get("predicates") or {})))

    def _fill_audit(self, steps: list[dict[str, Any]]) -> None:
        rows = {
            str(step["seq"]): (
                Text(str(step["seq"])),
                Text(step["ts"][:19]),
                Text(step["type"]),
                plain(step["principal"] or "-"),
                plain(step["entry_id"] or "-"),
                plain(step["summary"]),
            )
            for step in steps
        }
        self.query_one("#wp-audit", FitTable).show(rows)

    def fit_fields(self) -> None:
        """At most FIELDS_HEIGHT lines of fields, and no more than half of what is below
        the header (on 80x24, the status lines, then the tabs)."""
        height = self.size.height or self.app.size.height
        fields = self.query_one("#wp-fields", Static)
        fields.styles.max_height = min(FIELDS_HEIGHT, max(6, (height - 6) // 2))

    def on_resize(self) -> None:
        self.fit_fields()

    def on_store_changed(self, message: StoreChanged) -> None:
        if self.wp_id in message.work_packages:
            self.load()
            self.query_one(TranscriptView).rescan()  # a new run has its transcript already
            self.query_one(ChangesView).changed(self.on_changes)

    # -- the Transcript tab -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The transcript's and the Changes tab's keys act (and show in the footer) on
        their tab only."""
        if action in self.TRANSCRIPT_ACTIONS:
            return self.query_one(TabbedContent).active == "tab-transcript"
        if action in self.CHANGES_ACTIONS:
            return self.on_changes
        return True

    @property
    def on_changes(self) -> bool:
        return self.query_one(TabbedContent).active == "tab-changes"

    @on(TabbedContent.TabActivated)
    def tab_changed(self) -> None:
        self.refresh_bindings()
        if self.on_changes:
            self.query_one(ChangesView).activate()

    def action_show_tab(self, tab: str) -> None:
        """`1`…`6`: the Lineage, Packets, Verify, Audit, Transcript or Changes tab (the
        Changes tab with its diff focused: its keys move the cursor)."""
        self.query_one(TabbedContent).active = tab
        if tab == "tab-changes":
            self.query_one(ChangesView).diff.focus()

    def _on_transcript(self) -> TranscriptView:
        self.query_one(TabbedContent).active = "tab-transcript"  # from the palette
        return self.query_one(TranscriptView)

    def action_transcript_run(self, delta: int) -> None:
        self._on_transcript().step(delta)

    def action_transcript_raw(self) -> None:
        self._on_transcript().toggle_raw()

    # -- the Changes tab -----------------------------------------------------------------------

    def _on_changes(self) -> ChangesView:
        self.query_one(TabbedContent).active = "tab-changes"  # from the palette
        return self.query_one(ChangesView)

    def action_changes_comment(self) -> None:
        self._on_changes().comment()

    def action_changes_file(self, delta: int) -> None:
        self._on_changes().step_file(delta)

    def action_act(self, name: str) -> None:
        cockpit(self).start_action(name, self.wp_id)

    def action_open_stepper(self) -> None:
        cockpit(self).open_stepper(self.wp_id)
