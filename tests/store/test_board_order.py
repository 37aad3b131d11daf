"""The board's state sort is the lifecycle's order (SPEC 4), read on an index like every
other sort; an override to `blocked` needs attention; and a store made with an earlier
state index or attention rule is given the current ones when it is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cockpit.domain import State
from cockpit.engine.actions import human as actions
from cockpit.engine.runner.loop import RunnerLock, sweep_and_verify
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import Store, attention, schema
from cockpit.store import board as boards


@pytest.fixture
def demo(tmp_path: Path) -> Workspace:
    """The demo workspace, ingested: WPs booked, dispatched (2), in_progress, accepted and
    blocked (by the gate)."""
    ws = init_workspace(tmp_path / "demo", demo=True)
    with ws.open_store() as store, RunnerLock(ws):
        sweep_and_verify(ws, store)
    return ws


def states_in_order(store: Store, *, descending: bool = False) -> list[str]:
    total = boards.count(store, boards.BoardFilter())
    rows = boards.page(store, boards.BoardFilter(), sort="state", descending=descending, limit=100)
    assert len(rows) == total
    return [row["state"] for row in rows]


def test_the_state_sort_is_the_lifecycle_order_not_the_alphabet(demo: Workspace) -> None:
    with demo.open_store() as store:
        shown = states_in_order(store)
        assert shown == ["booked", "dispatched", "dispatched", "in_progress", "accepted", "blocked"]
        assert states_in_order(store, descending=True) == shown[::-1]
        # A page read by key from a row seen before continues in the same order.
        rows = boards.page(store, boards.BoardFilter(), sort="state", limit=3)
        rest = boards.page(
            store, boards.BoardFilter(), sort="state", offset=3, limit=3, near=(2, rows[-1])
        )
        assert [r["state"] for r in rows + rest] == shown
        # Each WP's position is its index in that order.
        for index, row in enumerate(rows + rest):
            assert boards.position(store, boards.BoardFilter(), row["id"], sort="state") == index


def test_the_lifecycle_rank_in_sql_is_the_order_of_the_states() -> None:
    conn = sqlite3.connect(":memory:")
    ranks = [
        conn.execute(
            f"SELECT {schema.LIFECYCLE_SQL} FROM (SELECT ? AS state)", (s.value,)
        ).fetchone()[0]
        for s in State
    ]
    assert ranks == list(range(len(State)))
    assert list(schema.LIFECYCLE) == [s.value for s in State]


def plan(store: Store, sql: str, args: list[object]) -> str:
    rows = store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


def test_the_state_sort_pages_on_its_index_without_sorting_the_board(demo: Workspace) -> None:
    """A page in lifecycle order is an index seek, never a sort of every row (which would
    not page fast at a million WPs)."""
    key = schema.LIFECYCLE_SQL
    with demo.open_store() as store:
        first = plan(store, f"SELECT * FROM work_packages ORDER BY {key} ASC, id ASC LIMIT 200", [])
        assert "wp_sort_state" in first and "TEMP B-TREE" not in first, first
        after = plan(
            store,
            f"SELECT * FROM work_packages WHERE {key} > ? ORDER BY {key} DESC, id DESC LIMIT 200",
            [3],
        )
        assert "wp_sort_state" in after and "TEMP B-TREE" not in after, after
        group = plan(
            store,
            f"SELECT * FROM work_packages WHERE {key} = ? AND id > ? ORDER BY id LIMIT 200",
            [3, "WP-0001"],
        )
        assert "wp_sort_state" in group and "TEMP B-TREE" not in group, group


def test_a_wp_overridden_to_blocked_needs_attention(demo: Workspace) -> None:
    """SPEC 4: blocked without a recovery owner is shown as needing triage, however the WP
    came to be blocked (here an override, with no gate run that blocked it)."""
    with demo.open_store() as store:
        before = boards.attention_count(store)
        actions.override(demo, store, "WP-0005", "blocked", "waits on a vendor", "human:owner")
        row = store.work_package("WP-0005")
        assert row is not None and row["state"] == "blocked" and not row["blocked_unowned"]
        assert boards.attention_count(store) == before + 1
        attending = boards.page(store, boards.BoardFilter(attention=True), limit=100)
        assert "WP-0005" in [r["id"] for r in attending]
        assert attention.reasons(row) == ["blocked without a recovery owner"]
        # A recovery takes it out of blocked, and out of the view.
        actions.override(demo, store, "WP-0005", "recovering", "vendor answered", "human:owner")
        assert boards.attention_count(store) == before


def test_a_store_with_an_earlier_state_index_and_attention_rule_is_upgraded(
    demo: Workspace,
) -> None:
    """A store made before the state sort was by lifecycle (its index on the state's name)
    and before the attention rule counted every blocked WP: opening it drops the old
    indexes and makes the current ones, once."""
    path = demo.db_path
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX wp_sort_state")
        conn.execute("CREATE INDEX wp_sort_state ON work_packages(state, id, title)")
        conn.execute(f"DROP INDEX {schema.ATTENTION_INDEX}")
        conn.execute(
            "CREATE INDEX wp_attention_0123456789ab ON work_packages(id) "
            "WHERE (state IN ('claimed', 'failed') OR (state = 'blocked' AND blocked_unowned = 1))"
        )
        assert schema.board_schema_missing(conn)
    with Store.open(path) as store:
        indexes = dict(
            store.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            ).fetchall()
        )
        assert "wp_attention_0123456789ab" not in indexes
        assert schema.ATTENTION_INDEX in indexes
        assert schema.LIFECYCLE_SQL in indexes["wp_sort_state"]
        assert not schema.board_schema_missing(store.conn)
        assert [r["state"] for r in boards.page(store, boards.BoardFilter(), sort="state")] == [
            "booked",
            "dispatched",
            "dispatched",
            "in_progress",
            "accepted",
            "blocked",
        ]


def test_a_fresh_store_is_not_taken_for_one_to_upgrade(tmp_path: Path) -> None:
    """Every index made is recognised as current: opening a store never rebuilds them."""
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    with ws.open_store() as store:
        assert not schema.board_schema_missing(store.conn)


def counted(store: Store) -> dict[str, int]:
    """WPs by state, counted from the rows themselves."""
    rows = store.conn.execute("SELECT state, count(*) FROM work_packages GROUP BY state")
    return {state: n for state, n in rows.fetchall()}


def test_the_state_counts_follow_bookings_moves_and_rebuilds(demo: Workspace) -> None:
    """The header's counts are kept, not counted: a booking by the projection that inserts
    the row, a move by trigger; they stay the rows' own counts through bookings, overrides,
    and a rebuild of every projection from the events."""
    with demo.open_store() as store:
        assert boards.state_counts(store) == counted(store)
        assert sum(boards.state_counts(store).values()) == 6
        actions.override(demo, store, "WP-0005", "recovering", "vendor answered", "human:owner")
        assert boards.state_counts(store) == counted(store)
    (demo.queue_dir("new") / "wp7.yaml").write_text(
        "schema: cockpit.entry/v1\nkind: work_package\nid: WP-0007\nwork_package: WP-0007\n"
        "principal: human:owner\ncreated: 2026-11-21T10:00:00Z\nbody:\n  title: t\n"
        "  objective: o\n  owner: agent:implementer-1\n  accountable: human:owner\n"
        "  tier: light\n  lane: implementation\n"
    )
    with demo.open_store() as store, RunnerLock(demo):
        assert sweep_and_verify(demo, store).sweep.ingested == 1
        assert boards.state_counts(store) == counted(store)
        assert boards.state_counts(store)["booked"] == counted(store)["booked"] >= 1
        with store.transaction():  # what an upgrade to a new schema does
            from cockpit.store import projections

            projections.rebuild(store.db, store.iter_events())
            schema.create_board_schema(store.db)
        assert boards.state_counts(store) == counted(store)


def plant_insert_count(path: Path) -> None:
    """The trigger by which an earlier Cockpit counted each inserted WP row, as it makes it
    when it opens a store that lacks it (counting afresh)."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER wp_state_counts_insert AFTER INSERT ON work_packages BEGIN "
            "INSERT INTO wp_state_counts (state, n) VALUES (NEW.state, 1) "
            "ON CONFLICT (state) DO UPDATE SET n = n + 1; END"
        )
        conn.execute("DELETE FROM wp_state_counts")
        conn.execute(
            "INSERT INTO wp_state_counts SELECT state, count(*) FROM work_packages GROUP BY state"
        )


def book(ws: Workspace, wp_id: str) -> None:
    (ws.queue_dir("new") / f"{wp_id}.yaml").write_text(
        f"schema: cockpit.entry/v1\nkind: work_package\nid: {wp_id}\nwork_package: {wp_id}\n"
        "principal: human:owner\ncreated: 2026-11-21T10:00:00Z\nbody:\n  title: t\n"
        "  objective: o\n  owner: agent:implementer-1\n  accountable: human:owner\n"
        "  tier: light\n  lane: implementation\n"
    )


def triggers(store: Store) -> set[str]:
    rows = store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    return {name for (name,) in rows.fetchall()}


def test_a_store_counting_bookings_by_trigger_is_counted_once_by_each_version(
    demo: Workspace,
) -> None:
    """A store an earlier Cockpit made or opened counts a booking by trigger, and this one
    by the projection that inserts the row: kept both, a booking counts twice. Opening the
    store leaves the trigger be (an earlier runner may still be ingesting, and would count
    nothing without it); a sweep, under the runner lock, retires it and counts afresh, and
    again after an earlier Cockpit opened the store and made it anew."""
    plant_insert_count(demo.db_path)
    with Store.open(demo.db_path) as store:
        assert not schema.board_schema_missing(store.conn)
        assert schema.RETIRED_INSERT_COUNT in triggers(store)
        before = boards.state_counts(store)
        assert before == counted(store)
    for wp_id in ("WP-0007", "WP-0008"):
        book(demo, wp_id)
        with demo.open_store() as store, RunnerLock(demo):
            assert sweep_and_verify(demo, store).sweep.ingested == 1
            assert schema.RETIRED_INSERT_COUNT not in triggers(store)
            assert boards.state_counts(store) == counted(store)
        plant_insert_count(demo.db_path)  # an earlier Cockpit opens it between the sweeps
    with Store.open(demo.db_path) as store:
        assert boards.state_counts(store)["booked"] == before.get("booked", 0) + 2
