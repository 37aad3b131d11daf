"""The audit chain: every event (filter by type, principal, WP) and the chain's integrity,
verified in a worker with progress."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, ProgressBar, Static

from cockpit.engine.reports import audit, pages
from cockpit.engine.reports.lineage import summarize
from cockpit.messages import StoreChanged
from cockpit.screens.context import cockpit, read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import Column, FitTable
from cockpit.screens.text import plain
from cockpit.store import Event

LIMIT = 2000
# On a narrow terminal the columns shrink, then the entry and the time go: "what" stays.
COLUMNS = (
    Column("seq", "seq", 8),
    Column("ts", "ts", 19, drop=1),
    Column("type", "type", 24, minimum=12),
    Column("wp", "wp", 12, minimum=7),
    Column("principal", "principal", 20, minimum=10),
    Column("entry", "entry", 14, minimum=8, drop=2),
    Column("what", "what", 0),
)


def parse_audit_filter(text: str) -> dict[str, Any]:
    """`type:a,b principal:P wp:W` → keyword arguments for Store.find_events. Raises
    ValueError naming a token it does not understand (a typo must not match everything)."""
    found: dict[str, Any] = {}
    for token in text.split():
        key, _, value = token.partition(":")
        if key == "type" and value:
            found["types"] = tuple(v for v in value.split(",") if v)
        elif key == "principal" and value:
            found["principal"] = value
        elif key in ("wp", "work_package") and value:
            found["work_package"] = value
        else:
            raise ValueError(f"{token!r} is not type:T, principal:P or wp:W")
    return found


class EventTable(FitTable):
    """The events, the newest last. While the cursor is on the newest, a change of the
    table's height keeps it in view at the bottom: the header settles its lines once it
    knows its width, the progress bar goes with the chain's verdict, the terminal is
    resized. (A shorter DataTable keeps its scroll offset, and its last rows, the cursor's
    among them, would fall below the view.)"""

    def on_resize(self) -> None:  # FitTable's own on_resize runs too (Textual calls both)
        if self.row_count and self.cursor_row == self.row_count - 1:
            # After the refresh: the layout, and a rebuild's rows, are in max_scroll_y then.
            self.scroll_end(animate=False)


class AuditScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Taken before the table sees it: the keys typed right after `/` are the field's.
        Binding("slash", "filter", "filter", id="cockpit.audit.filter", priority=True),
        Binding("V", "verify_chain", "verify chain", id="cockpit.audit.verify"),
        Binding("escape", "back", "back", id="cockpit.audit.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.verifying = False
        self.loading = False  # a read is on its way; changes meanwhile are in what it reads
        self.cursor_to_end = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="integrity")
        yield ProgressBar(total=1, id="progress", show_eta=False)
        yield Input(
            placeholder="filter: type:verify_completed principal:human:owner wp:WP-0001",
            id="audit-filter",
            classes="hidden",
            select_on_focus=False,  # `/` shows the filter in force, to be edited
        )
        yield EventTable(COLUMNS, flexible=24, id="events")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#events", FitTable)
        self.query_one("#status", StatusBar).refresh_from_app("audit chain")
        cockpit(self).steady_cursors(self)
        self.fill()
        self.action_verify_chain()
        table.focus()

    def fill(self, *, to_end: bool = True) -> None:
        """Read the newest events the filter matches, in a worker; with `to_end`, the
        cursor then goes to the newest."""
        self.loading = True
        self.cursor_to_end = self.cursor_to_end or to_end
        self.load(parse_audit_filter(self.filter_text))

    @work(thread=True, group="audit-read", exclusive=True, exit_on_error=False)
    def load(self, wanted: dict[str, Any]) -> None:
        read_then(self, lambda store: pages.audit_events(store, limit=LIMIT, **wanted), self.show)

    def show(self, events: list[Event]) -> None:
        self.loading = False
        table = self.query_one("#events", FitTable)
        table.show({str(e.seq): self._cells(e) for e in events})
        if events and self.cursor_to_end:
            table.move_cursor(row=len(events) - 1)
            self.call_after_refresh(self._newest_in_view)
        self.cursor_to_end = False

    def _newest_in_view(self) -> None:
        """Once the rows are laid out, end the table's scroll at the newest event, where the
        cursor is (later changes of the table's height keep it there: `EventTable`)."""
        table = self.query_one("#events", FitTable)
        if table.row_count and table.cursor_row == table.row_count - 1:
            table.scroll_end(animate=False, immediate=True)

    @staticmethod
    def _cells(event: Event) -> tuple[Text, ...]:
        return (
            Text(str(event.seq)),
            Text(event.ts[:19]),
            Text(event.type),
            plain(event.work_package or "-"),
            plain(event.principal or "-"),
            plain(event.entry_id or "-"),
            plain(summarize(event.type, event.payload)),
        )

    def action_verify_chain(self) -> None:
        if self.verifying:
            return
        self.verifying = True
        self.query_one("#integrity", Static).update(Text("verifying the chain…", style="#fbbf24"))
        bar = self.query_one("#progress", ProgressBar)
        bar.remove_class("hidden")
        self.verify(bar)

    @work(thread=True, exclusive=True, group="audit-verify", exit_on_error=False)
    def verify(self, bar: ProgressBar) -> None:
        app = cockpit(self)
        store = app.open_reader()
        try:
            report = audit.verify(
                app.ws,
                store,
                lambda done, total: self.app.call_from_thread(
                    bar.update, total=max(total, 1), progress=done
                ),
            )
        finally:
            store.close()
        if report.ok:
            text = Text(f"✔ verified through seq {report.events}", style="bold #4ade80")
        else:
            text = Text(f"✘ broken at seq {report.first_bad_seq}: ", style="bold #ef4444")
            text.append_text(plain(report.reason or ""))
        self.app.call_from_thread(self._show_integrity, text)

    def _show_integrity(self, text: Text) -> None:
        self.verifying = False
        self.query_one("#integrity", Static).update(text)
        self.query_one("#progress", ProgressBar).add_class("hidden")  # the table grows

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # in the field itself, `/` is a character
            return not isinstance(self.focused, Input)
        return True

    def action_filter(self) -> None:
        field = self.query_one("#audit-filter", Input)
        field.remove_class("hidden")
        field.value = self.filter_text  # the filter in force, to be edited
        field.cursor_position = len(field.value)
        # Focused now, not after a refresh: the keys typed right after `/` are the field's.
        self.set_focus(field)

    @on(Input.Submitted, "#audit-filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        try:
            parse_audit_filter(event.value)
        except ValueError as exc:
            cockpit(self).say(f"filter not applied: {exc}", severity="warning")
            return
        self.filter_text = event.value.strip()
        event.input.add_class("hidden")
        self.fill()
        self.query_one("#status", StatusBar).refresh_from_app(self.view_label())
        self.query_one("#events", FitTable).focus()

    def view_label(self) -> str:
        return f"audit chain · filter {self.filter_text}" if self.filter_text else "audit chain"

    def action_back(self) -> None:
        """esc: close the filter field, else clear an applied filter, else go back."""
        field = self.query_one("#audit-filter", Input)
        if not field.has_class("hidden"):
            field.add_class("hidden")
            self.query_one("#events", FitTable).focus()
        elif self.filter_text:
            self.filter_text = ""
            self.fill()
            self.query_one("#status", StatusBar).refresh_from_app(self.view_label())
        else:
            self.app.pop_screen()

    def on_store_changed(self, message: StoreChanged) -> None:
        """New events are added at the end, in place; the cursor stays where it is."""
        self.query_one("#status", StatusBar).refresh_from_app(self.view_label())
        if self.loading:  # the read on its way may predate these events: read again
            self.fill(to_end=False)
            return
        wanted = parse_audit_filter(self.filter_text)
        table = self.query_one("#events", FitTable)
        for event in message.events:
            if wanted.get("types") and event.type not in wanted["types"]:
                continue
            if wanted.get("principal") and event.principal != wanted["principal"]:
                continue
            if wanted.get("work_package") and event.work_package != wanted["work_package"]:
                continue
            table.append(str(event.seq), self._cells(event))
