"""What the TUI's screens show, read from the store: plain functions of a Store returning
plain data, so that screens never run SQL nor import the store's query modules. The board
pages its visible window through these on the UI thread (one indexed query per page);
every other screen calls them from a worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.reports import board as reports
from cockpit.engine.reports import lineage, metrics
from cockpit.store import Event, Store
from cockpit.store import board as board_queries
from cockpit.store.rows import WorkPackageRow

NEWEST_FIRST = frozenset({"age", "updated"})  # sorts that read best newest first


@dataclass(frozen=True)
class BoardView:
    """What the board shows: free text (id or title), states, an assignee, or only the WPs
    that need attention, in one sort order."""

    text: str = ""
    states: tuple[str, ...] = ()
    assignee: str | None = None
    attention: bool = False
    sort: str = "id"
    # Lanes whose agents nobody starts now: their waiting WPs need attention.
    unstarted_lanes: tuple[str, ...] = ()

    @property
    def descending(self) -> bool:
        return self.sort in NEWEST_FIRST

    def _filter(self) -> board_queries.BoardFilter:
        return board_queries.BoardFilter(
            text=self.text,
            states=self.states,
            assignee=self.assignee,
            attention=self.attention,
            unstarted_lanes=self.unstarted_lanes,
        )


def parse_board_view(
    text: str,
    *,
    attention: bool = False,
    sort: str = "id",
    unstarted_lanes: tuple[str, ...] = (),
) -> BoardView:
    """`state:blocked assignee:agent:x words` → a BoardView."""
    states: list[str] = []
    assignee = None
    words = []
    for token in text.split():
        if token.startswith("state:"):
            states += [s for s in token.removeprefix("state:").split(",") if s]
        elif token.startswith("assignee:"):
            assignee = token.removeprefix("assignee:") or None
        else:
            words.append(token)
    return BoardView(
        text=" ".join(words),
        states=tuple(states),
        assignee=assignee,
        attention=attention,
        sort=sort,
        unstarted_lanes=unstarted_lanes,
    )


def board_count(store: Store, view: BoardView) -> int:
    return board_queries.count(store, view._filter())


def board_page(
    store: Store,
    view: BoardView,
    offset: int,
    limit: int,
    *,
    near: tuple[int, Mapping[str, Any]] | None = None,
    total: int | None = None,
) -> list[WorkPackageRow]:
    """Rows `offset` to `offset + limit` of the board as `view` shows it; read by key from
    `near` (a row read before, with its index) or from the bottom (given the `total`)
    when either is closer than the top (see store.board.page)."""
    return board_queries.page(
        store,
        view._filter(),
        sort=view.sort,
        descending=view.descending,
        offset=offset,
        limit=limit,
        near=near,
        total=total,
    )


def board_position(store: Store, view: BoardView, wp_id: str) -> int | None:
    """The row index of `wp_id` on the board as `view` shows it, or None if not on it."""
    return board_queries.position(
        store, view._filter(), wp_id, sort=view.sort, descending=view.descending
    )


def find_work_package(store: Store, text: str) -> str | None:
    """The id of the work package `text` names (as written, or in capitals: `wp-0003` is
    WP-0003), or None if there is none. At most two lookups by key."""
    for wanted in dict.fromkeys((text.strip(), text.strip().upper())):
        if wanted and store.work_package(wanted) is not None:
            return wanted
    return None


@dataclass(frozen=True)
class BoardSummary:
    """The header's counts: work packages by state, those needing attention, rejections."""

    states: dict[str, int]
    attention: int
    rejected: int

    @property
    def total(self) -> int:
        return sum(self.states.values())


def board_summary(store: Store, unstarted_lanes: tuple[str, ...] = ()) -> BoardSummary:
    return BoardSummary(
        states=board_queries.state_counts(store),
        attention=board_queries.attention_count(store, unstarted_lanes),
        rejected=store.rejection_count(),
    )


@dataclass(frozen=True)
class WorkPackagePage:
    """Everything the work-package screen shows about one WP."""

    detail: dict[str, Any]
    ground: dict[str, Any] | None  # the latest common ground entry
    lineage: dict[str, Any]
    entries: list[dict[str, Any]]
    diffs: list[dict[str, str]]
    last_verify: Event | None
    steps: list[dict[str, Any]]


def work_package_page(
    store: Store, wp_id: str, unstarted_lanes: tuple[str, ...] = ()
) -> WorkPackagePage:
    """Raises NotFound if no such WP has been booked."""
    grounds = store.entries(wp_id, "common_ground")
    verifies = store.find_events(types=(EventType.VERIFY_COMPLETED,), work_package=wp_id, limit=1)
    return WorkPackagePage(
        detail=reports.work_package_status(store, wp_id, unstarted_lanes),
        ground=grounds[-1] if grounds else None,
        lineage=lineage.lineage(store, wp_id),
        entries=store.entries(wp_id),
        diffs=lineage.packet_diffs(store, wp_id),
        last_verify=verifies[-1] if verifies else None,
        steps=lineage.steps(store, wp_id),
    )


def audit_events(
    store: Store,
    *,
    types: tuple[str, ...] = (),
    principal: str | None = None,
    work_package: str | None = None,
    limit: int = 1000,
) -> list[Event]:
    """The newest `limit` events matching the filters, in seq order."""
    return store.find_events(
        types=types, principal=principal, work_package=work_package, limit=limit
    )


def candidates(store: Store) -> list[dict[str, Any]]:
    """Every canon candidate, with its redaction state and last gate run."""
    return store.candidates()


@dataclass(frozen=True)
class MetricsPage:
    document: dict[str, Any]
    outcomes_by_day: list[tuple[str, dict[str, int]]]


def metrics_page(store: Store) -> MetricsPage:
    return MetricsPage(metrics.metrics(store), metrics.outcomes_by_day(store))
