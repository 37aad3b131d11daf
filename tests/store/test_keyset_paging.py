"""Keyset paging (issue 13): a page read by key, from a row seen before or from the bottom,
is exactly the page that skipping `offset` rows of the sorted board gives, for every sort,
direction, filter, depth and starting row. The reference sorts in Python, apart from the
store's paging code; a real store of WPs with many ties in every sort key."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.engine.actions import human as actions
from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import Store
from cockpit.store import board as boards

WPS = 120
STATES = ("booked", "dispatched")
TITLES = ("alpha", "beta", "beta", "gamma task", "Delta", "épsilon", "a_b%c")


def _entry(kind: str, entry_id: str, wp: str, created: str, body: dict[str, str]) -> str:
    lines = [
        "schema: cockpit.entry/v1",
        f"kind: {kind}",
        f"id: {entry_id}",
        f"work_package: {wp}",
        "principal: human:owner",
        f"created: {created}",
        "body:",
    ]
    lines += [
        f"  {key}: {value!r}" if "%" in value else f"  {key}: {value}"
        for key, value in body.items()
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """WPs with repeated titles, tiers, creation times and assignees (ties in every sort)."""
    root: Path = tmp_path_factory.mktemp("paging") / "ws"
    ws: Workspace = init_workspace(root, tenant="demo")
    rng = random.Random(13)
    new = ws.queue_dir("new")
    for i in range(WPS):
        wp = f"WP-{rng.randrange(10_000):04d}-{i}"
        created = f"2026-11-21T10:{rng.randrange(6):02d}:00Z"
        body = {
            "title": rng.choice(TITLES),
            "objective": "o",
            "owner": "agent:implementer-1",
            "accountable": "human:owner",
            "tier": rng.choice(("light", "standard", "deep")),
            "lane": "implementation",
        }
        if body["tier"] == "deep":
            body["rollback_plan"] = "revert it"
        (new / f"{i:04d}a.yaml").write_text(_entry("work_package", wp, wp, created, body))
        if rng.random() < 0.5:
            to = {"to": "agent:implementer-1"}
            text = _entry("dispatch", f"DSP-{i}", wp, "2026-11-21T11:00:00Z", to)
            (new / f"{i:04d}b.yaml").write_text(text)
    for path in new.iterdir():  # written long enough ago: never taken for half-written
        os.utime(path, (1_700_000_000, 1_700_000_000))
    with ws.open_store() as writer:
        result = Sweeper(ws, writer).sweep()
        assert result.rejected == 0 and result.ingested > WPS, [
            r for r in result.log if r["outcome"] != "ingested"
        ][:3]
        # States whose lifecycle order is not their names' (the state sort is by lifecycle).
        for wp in writer.work_package_ids()[::5]:
            to = rng.choice(("accepted", "blocked", "cancelled", "in_progress"))
            actions.override(ws, writer, wp, to, "a mix of states", "human:owner")
    opened = Store.open_readonly(ws.db_path)
    yield opened
    opened.close()


def reference(
    store: Store, board_filter: boards.BoardFilter, sort: str, descending: bool
) -> list[str]:
    """Every id on the filtered board, sorted in Python by (sort key, id)."""
    where, args = board_filter.where()
    rows = [dict(r) for r in store.conn.execute(f"SELECT * FROM work_packages{where}", args)]
    rows.sort(key=lambda row: boards.sort_key(row, sort), reverse=descending)
    return [row["id"] for row in rows]


filters = st.builds(
    boards.BoardFilter,
    text=st.sampled_from(["", "beta", "a", "_", "%", "WP-0"]),
    states=st.sampled_from([(), ("booked",), ("dispatched",), STATES]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    board_filter=filters,
    sort=st.sampled_from(sorted(boards.SORTS)),
    descending=st.booleans(),
    offset=st.integers(0, WPS),
    limit=st.integers(1, 40),
    near_at=st.one_of(st.none(), st.integers(0, WPS)),
    with_total=st.booleans(),
)
def test_a_page_read_by_key_is_the_page_offset_would_give(
    store: Store,
    board_filter: boards.BoardFilter,
    sort: str,
    descending: bool,
    offset: int,
    limit: int,
    near_at: int | None,
    with_total: bool,
) -> None:
    ids = reference(store, board_filter, sort, descending)
    near = None
    if near_at is not None and near_at < len(ids):
        row = store.conn.execute("SELECT * FROM work_packages WHERE id = ?", (ids[near_at],))
        near = (near_at, dict(row.fetchone()))
    total = len(ids) if with_total else None
    got = boards.page(
        store,
        board_filter,
        sort=sort,
        descending=descending,
        offset=offset,
        limit=limit,
        near=near,
        total=total,
    )
    assert [row["id"] for row in got] == ids[offset : offset + limit]
    assert boards.count(store, board_filter) == len(ids)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(board_filter=filters, sort=st.sampled_from(sorted(boards.SORTS)), descending=st.booleans())
def test_a_wps_position_is_its_index_on_the_board(
    store: Store, board_filter: boards.BoardFilter, sort: str, descending: bool
) -> None:
    ids = reference(store, board_filter, sort, descending)
    for index in range(0, len(ids), 7):
        assert (
            boards.position(store, board_filter, ids[index], sort=sort, descending=descending)
            == index
        )
    assert boards.position(store, board_filter, "WP-NOT-THERE", sort=sort) is None
