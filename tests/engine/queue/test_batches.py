"""Group commit (issue 13): the sweep ingests entries in batches, one transaction and one
commit each; an entry whose events cannot be appended has the batch planned again, each
entry in a savepoint of its own; files move only after the commit; a failure of the
environment mid-batch loses nothing and ingests nothing twice."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import Flow
from helpers.workspace import Env, entry, t, work_package

from cockpit.engine.queue import sweep as sweep_module
from cockpit.engine.queue.helper import HELPER_MIN
from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store
from cockpit.store import board as boards


def at(i: int) -> str:
    """A distinct `created` moment for the i-th of many entries."""
    return f"2026-11-21T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def committed(store: Store) -> list[str]:
    """The statements that ended a transaction on this connection, as SQLite ran them."""
    seen: list[str] = []
    store.conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.strip().upper() in ("COMMIT", "ROLLBACK") else None
    )
    return seen


def rejection(env: Env, name: str) -> dict[str, Any]:
    reason = json.loads((env.rejected_dir / f"{name}.reason.json").read_text())
    return {key: reason[key] for key in ("code", "message", "entry_id")}


def test_a_backlog_is_committed_in_batches_not_one_transaction_per_entry(env: Env) -> None:
    count = sweep_module.BATCH_MAX + 44
    for i in range(count):
        env.drop(f"{i:04d}.yaml", work_package(f"WP-{i:04d}", created=at(i)))
    with env.store() as store:
        ends = committed(store)
        result = Sweeper(env.ws, store).sweep()
        assert result.ingested == count and result.errors == 0, result.log[:3]
        # Two batches (BATCH_MAX, then the rest): two commits, not one per entry. A batch
        # also closes after BATCH_SECONDS, so a very slow machine may need a third.
        assert 2 <= ends.count("COMMIT") <= 3, ends
        assert "ROLLBACK" not in ends
        assert store.verify_chain().ok
        assert [e.entry_id for e in store.events()] == [f"WP-{i:04d}" for i in range(count)]
    assert files(env.done) == [f"{i:04d}.yaml" for i in range(count)]
    assert files(env.new) == files(env.ws.queue_dir("cur")) == []


def test_a_lone_entry_is_committed_at_once(env: Env) -> None:
    env.drop("one.yaml", work_package("WP-1", created=t(0)))
    with env.store() as store:
        ends = committed(store)
        result = Sweeper(env.ws, store).sweep()
        assert result.ingested == 1
        assert ends == ["COMMIT"]
    assert files(env.done) == ["one.yaml"]


def test_a_rejection_mid_batch_undoes_only_its_own_part(env: Env) -> None:
    """Booking, a dispatch of an unknown WP, a booking whose application fails in the
    database after its first write (a real trigger), then two more bookings, all in one
    batch: the two failures are rejected with their reasons and leave no row behind; the
    others are ingested, in order, in the same commit. The batch is planned without
    savepoints until WP-3 fails: it is rolled back then, once, and planned again with one
    savepoint per entry."""
    with env.store() as store:
        store.conn.execute(
            "CREATE TRIGGER planted BEFORE INSERT ON entries WHEN NEW.id = 'WP-3' "
            "BEGIN SELECT RAISE(ABORT, 'planted refusal'); END"
        )
    env.drop("1.yaml", work_package("WP-1", created=t(1)))
    env.drop(
        "2.yaml",
        entry("dispatch", "DSP-9", "WP-9", "human:owner", "to: agent:implementer-1", created=t(2)),
    )
    env.drop("3.yaml", work_package("WP-3", created=t(3)))
    env.drop("4.yaml", work_package("WP-4", created=t(4)))
    env.drop("5.yaml", work_package("WP-5", created=t(5)))
    with env.store() as store:
        ends = committed(store)
        result = Sweeper(env.ws, store).sweep()
        assert ends == ["ROLLBACK", "COMMIT"]
        assert (result.ingested, result.rejected, result.errors) == (3, 2, 0), result.log
        assert result.log == [
            {"file": "1.yaml", "outcome": "ingested", "entry_id": "WP-1"},
            {"file": "2.yaml", "outcome": "rejected", **rejection(env, "2.yaml")},
            {"file": "3.yaml", "outcome": "rejected", **rejection(env, "3.yaml")},
            {"file": "4.yaml", "outcome": "ingested", "entry_id": "WP-4"},
            {"file": "5.yaml", "outcome": "ingested", "entry_id": "WP-5"},
        ]
        # Booked once each: the rolled-back bookings are not counted on the board.
        assert boards.state_counts(store) == {"booked": 3}
        assert store.work_package_ids() == ["WP-1", "WP-4", "WP-5"]
        # WP-3's task_created was appended before its entries row failed: undone with it.
        types = [(e.type, e.entry_id) for e in store.events()]
        assert types == [
            ("task_created", "WP-1"),
            ("entry_rejected", "DSP-9"),
            ("entry_rejected", "WP-3"),
            ("task_created", "WP-4"),
            ("task_created", "WP-5"),
        ]
        assert store.verify_chain().ok
    assert files(env.done) == ["1.yaml", "4.yaml", "5.yaml"]
    reasons = {
        name: json.loads((env.rejected_dir / f"{name}.reason.json").read_text())["code"]
        for name in ("2.yaml", "3.yaml")
    }
    assert reasons == {"2.yaml": "unknown_work_package", "3.yaml": "schema_error"}


def test_two_rejections_in_one_batch_never_share_a_name_in_rejected(env: Env) -> None:
    """rejected/ already holds a.yaml; the batch rejects a.yaml and a-1.yaml. The first
    is promised a-1.yaml before either moves, so the second must take another name:
    nothing is overwritten, each reason sits beside its own file."""
    env.rejected_dir.mkdir(parents=True, exist_ok=True)
    (env.rejected_dir / "a.yaml").write_text("earlier\n")
    env.drop(
        "a.yaml",
        entry("dispatch", "DSP-1", "WP-8", "human:owner", "to: agent:implementer-1", created=t(1)),
    )
    env.drop(
        "a-1.yaml",
        entry("dispatch", "DSP-2", "WP-9", "human:owner", "to: agent:implementer-1", created=t(2)),
    )
    with env.store() as store:
        result = Sweeper(env.ws, store).sweep()
    assert result.rejected == 2
    kept = {
        name: json.loads((env.rejected_dir / f"{name}.reason.json").read_text())["entry_id"]
        for name in files(env.rejected_dir)
        if not name.endswith(".reason.json") and name != "a.yaml"
    }
    assert sorted(kept.values()) == ["DSP-1", "DSP-2"]
    assert len(kept) == 2
    assert (env.rejected_dir / "a.yaml").read_text() == "earlier\n"


def test_the_database_full_mid_batch_loses_nothing_and_ingests_nothing_twice(
    env: Env,
) -> None:
    """A real SQLITE_FULL (the store may not grow past a page limit) in the middle of a
    batch: the batch is rolled back, the entry that hit it is an error left in cur/, the
    ones before it are planned again and committed. Once there is room again, the next
    sweep ingests the rest, once each."""
    count = 120
    for i in range(count):
        env.drop(f"{i:04d}.yaml", work_package(f"WP-{i:04d}", created=at(i)))
    with env.store() as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 12}")
        first = Sweeper(env.ws, store).sweep()
        assert first.errors >= 1, first.log[-3:]
        assert 1 <= first.ingested < count, first.log[-3:]
        assert first.ingested + first.errors == count
        assert all("full" in r["message"] for r in first.log if r["outcome"] == "error")
        ingested = [r["entry_id"] for r in first.log if r["outcome"] == "ingested"]
        assert store.work_package_ids() == sorted(ingested)
        assert files(env.done) == sorted(f"{wp.removeprefix('WP-')}.yaml" for wp in ingested)
        assert len(files(env.ws.queue_dir("cur"))) == first.errors
        assert store.verify_chain().ok
    with env.store() as store:  # room again
        second = Sweeper(env.ws, store).sweep()
        assert second.errors == 0, second.log[:3]
        assert second.recovered == first.errors
        ids = [e.entry_id for e in store.events()]
        assert sorted(ids) == [f"WP-{i:04d}" for i in range(count)]  # each exactly once
        assert store.verify_chain().ok
    assert files(env.done) == [f"{i:04d}.yaml" for i in range(count)]
    assert files(env.ws.queue_dir("cur")) == files(env.new) == []


def test_a_batch_ends_where_the_gate_may_judge_a_claim(env: Env) -> None:
    """The runner verifies a claim right after it is committed (after_ingest): the batch
    ends at the claim, so the entry dropped after it is planned on what the gate decided,
    exactly as one entry at a time would have it."""
    flow = Flow(env).ready()
    flow.claim(sweep=False)
    env.drop("later.yaml", work_package("WP-LATER", created="2099-01-01T00:00:00Z"))
    seen: list[tuple[str, Any]] = []
    with env.store() as store:

        def after(wp_id: str) -> None:
            seen.append((wp_id, store.work_package("WP-LATER")))

        result = Sweeper(env.ws, store, after_ingest=after).sweep()
        assert result.ingested == 2, result.log
    assert [wp for wp, _ in seen] == [flow.wp, "WP-LATER"]
    assert seen[0][1] is None  # the later booking was not planned before the claim's turn


def test_a_dry_run_plans_in_batches_and_changes_nothing(env: Env) -> None:
    for i in range(5):
        env.drop(f"{i}.yaml", work_package(f"WP-{i}", created=t(i)))
    env.drop(
        "x.yaml",
        entry("dispatch", "DSP-1", "WP-9", "human:owner", "to: agent:implementer-1", created=t(9)),
    )
    with env.store() as store:
        result = Sweeper(env.ws, store, dry_run=True).sweep()
        assert (result.ingested, result.rejected) == (5, 1)
        assert store.events() == []
    assert files(env.new) == ["0.yaml", "1.yaml", "2.yaml", "3.yaml", "4.yaml", "x.yaml"]


def test_savepoint_outside_a_transaction_is_refused(env: Env) -> None:
    with env.store() as store:
        try:
            with store.savepoint():
                pass
        except RuntimeError as exc:
            assert "inside Store.transaction()" in str(exc)
        else:
            raise AssertionError("a savepoint outside a transaction was taken")
        assert not store.conn.in_transaction
        assert isinstance(store.conn, sqlite3.Connection)


# -- found in review: what fails after the commit, and names promised in a batch ------------------


def test_a_file_that_cannot_be_moved_after_the_commit_is_an_error_not_a_crash(env: Env) -> None:
    """The batch is committed; then rejected/ stops being a directory (a real file system
    refusing the move, as a full disk would) before the rejected entry's file is moved. The
    sweep does not raise: that entry is an error left in cur/, the entries after it are
    settled as usual, and once rejected/ is back the next sweep only moves the file."""
    env.drop("1.yaml", work_package("WP-1", created=t(1)))
    env.drop("2.yaml", entry("dispatch", "DSP-9", "WP-9", "human:owner", "to: x", created=t(2)))
    env.drop("3.yaml", work_package("WP-3", created=t(3)))
    rejected = env.rejected_dir

    def break_rejected(wp_id: str) -> None:
        if wp_id == "WP-1":  # settled first: the rejection's move comes next
            rejected.rmdir()
            rejected.write_text("not a directory\n")

    with env.store() as store:
        env.ws.ensure_dirs()
        result = Sweeper(env.ws, store, after_ingest=break_rejected).sweep()
        assert (result.ingested, result.errors) == (2, 1), result.log
        assert [r["outcome"] for r in result.log] == ["ingested", "error", "ingested"]
    assert files(env.done) == ["1.yaml", "3.yaml"]
    assert files(env.ws.queue_dir("cur")) == ["2.yaml"]
    rejected.unlink()
    rejected.mkdir()
    with env.store() as store:
        again = Sweeper(env.ws, store).sweep()
        assert (again.recovered, again.rejected, again.errors) == (1, 0, 0), again.log
        assert [e.type for e in store.events()].count("entry_rejected") == 1
    assert files(rejected) == ["2.yaml", "2.yaml.reason.json"]
    assert files(env.ws.queue_dir("cur")) == []


def test_an_orphans_recorded_rejected_name_is_not_given_to_another_file(env: Env) -> None:
    """rejected/a.yaml exists; a.yaml is rejected as a-1.yaml, but a crash leaves it in cur/
    (its rejection committed, its move lost). A different bad file a-1.yaml then arrives.
    Both are settled in one batch: the orphan goes to the a-1.yaml its rejection names, the
    newcomer to a name of its own; nothing is overwritten."""
    env.rejected_dir.mkdir(parents=True, exist_ok=True)
    (env.rejected_dir / "a.yaml").write_text("earlier\n")
    first = entry("dispatch", "DSP-1", "WP-8", "human:owner", "to: x", created=t(1))
    env.drop("a.yaml", first)
    with env.store() as store:
        assert Sweeper(env.ws, store).sweep().rejected == 1
    # The crash: the rejection is committed, the file never left cur/.
    (env.rejected_dir / "a-1.yaml").rename(env.ws.queue_dir("cur") / "a.yaml")
    (env.rejected_dir / "a-1.yaml.reason.json").unlink()
    second = entry("dispatch", "DSP-2", "WP-9", "human:owner", "to: x", created=t(2))
    env.drop("a-1.yaml", second)
    with env.store() as store:
        result = Sweeper(env.ws, store).sweep()
        assert (result.recovered, result.rejected) == (1, 1), result.log
        named = {r["entry_id"]: r["file"] for r in store.rejections()}
    assert named["DSP-1"] == "a-1.yaml" and named["DSP-2"] not in ("a.yaml", "a-1.yaml"), named
    assert (env.rejected_dir / "a-1.yaml").read_text() == textwrap.dedent(first).lstrip()
    assert (env.rejected_dir / named["DSP-2"]).read_text() == textwrap.dedent(second).lstrip()
    assert (env.rejected_dir / "a.yaml").read_text() == "earlier\n"


def plant_refusal(env: Env, entry_id: str) -> None:
    """A real trigger making the store refuse the entries row of `entry_id`: its events are
    appended, then applying them fails."""
    with env.store() as store:
        store.conn.execute(
            f"CREATE TRIGGER planted BEFORE INSERT ON entries WHEN NEW.id = '{entry_id}' "
            "BEGIN SELECT RAISE(ABORT, 'planted refusal'); END"
        )


def test_a_failure_mid_batch_on_a_helpers_sweep_is_planned_again_once(env: Env) -> None:
    """A sweep large enough for a helper process: the batch holding the failing entry is
    rolled back after the helper claimed its files, and planned again from cur/: every
    other entry is ingested once, the failing one rejected once, nothing left behind."""
    count = 100
    assert count >= HELPER_MIN
    plant_refusal(env, "WP-0050")
    for i in range(count):
        env.drop(f"{i:04d}.yaml", work_package(f"WP-{i:04d}", created=at(i)))
    with env.store() as store:
        ends = committed(store)
        result = Sweeper(env.ws, store).sweep()
        assert (result.ingested, result.rejected, result.errors) == (99, 1, 0), result.log[:3]
        assert ends.count("ROLLBACK") == 1, ends
        assert store.verify_chain().ok
        kinds = [(e.type, e.entry_id) for e in store.events()]
        assert kinds == [
            ("entry_rejected" if i == 50 else "task_created", f"WP-{i:04d}") for i in range(count)
        ]
        assert boards.state_counts(store) == {"booked": 99}
    assert files(env.done) == [f"{i:04d}.yaml" for i in range(count) if i != 50]
    assert files(env.rejected_dir) == ["0050.yaml", "0050.yaml.reason.json"]
    assert files(env.new) == files(env.ws.queue_dir("cur")) == []


def test_a_dry_run_plans_a_failing_batch_again_and_changes_nothing(env: Env) -> None:
    plant_refusal(env, "WP-2")
    for i in range(1, 4):
        env.drop(f"{i}.yaml", work_package(f"WP-{i}", created=t(i)))
    with env.store() as store:
        result = Sweeper(env.ws, store, dry_run=True).sweep()
        assert (result.ingested, result.rejected, result.errors) == (2, 1, 0), result.log
        assert [r["outcome"] for r in result.log] == ["ingested", "rejected", "ingested"]
        assert store.events() == []
        assert boards.state_counts(store) == {}
    assert files(env.new) == ["1.yaml", "2.yaml", "3.yaml"]


class _GcWatchingSweeper(Sweeper):
    """A real sweeper noting whether Python's cycle collector may run as it plans."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planning: list[bool] = []

    def _plan(self, current: Any, prepared: Any = None, optimistic: bool = False) -> None:
        self.planning.append(gc.isenabled())
        super()._plan(current, prepared, optimistic)


def test_the_cycle_collector_waits_for_the_sweep_but_runs_in_the_runners_callbacks(
    env: Env,
) -> None:
    """Held off while the sweep parses and plans (it would walk everything parsed again and
    again), running again in the runner's callbacks (the gate, whose objects may hold
    cycles and files), and as it was once the sweep ends."""
    for i in range(5):
        env.drop(f"{i}.yaml", work_package(f"WP-{i}", created=t(i)))
    called: list[bool] = []
    with env.store() as store:
        sweeper = _GcWatchingSweeper(
            env.ws,
            store,
            on_event=lambda event: called.append(gc.isenabled()),
            after_ingest=lambda wp: called.append(gc.isenabled()),
        )
        assert gc.isenabled()
        assert sweeper.sweep().ingested == 5
        assert gc.isenabled()
    assert sweeper.planning == [False] * 5
    assert called == [True] * 10
    # A program that keeps the collector off finds it off in the callbacks too.
    env.drop("5.yaml", work_package("WP-5", created=t(5)))
    called.clear()
    gc.disable()
    try:
        with env.store() as store:
            sweeper = _GcWatchingSweeper(
                env.ws, store, on_event=lambda event: called.append(gc.isenabled())
            )
            assert sweeper.sweep().ingested == 1
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert called == [False]


class _StopAtThird(Sweeper):
    """A real sweeper whose `stop` is set while 3.yaml is planned (a SIGTERM's handler)."""

    def __init__(self, *args: Any, stop: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop = stop

    def _plan(self, current: Any, prepared: Any = None, optimistic: bool = False) -> None:
        if current.original == "3.yaml":
            self.stop.set()
        super()._plan(current, prepared, optimistic)


def test_a_stop_while_a_batch_fails_plans_its_claimed_files_before_the_sweep_ends(
    env: Env,
) -> None:
    """WP-3's events cannot be appended, so its batch is rolled back and planned again;
    the stop came meanwhile. The batch's files were claimed: they are planned before the
    sweep stops (a stop leaves nothing claimed and unplanned), what follows them is not."""
    plant_refusal(env, "WP-3")
    for i in range(1, 6):
        env.drop(f"{i}.yaml", work_package(f"WP-{i}", created=t(i)))
    stop = threading.Event()
    with env.store() as store:
        result = _StopAtThird(env.ws, store, stop=stop).sweep(stop)
        assert (result.ingested, result.rejected, result.errors) == (2, 1, 0), result.log
        assert [e.entry_id for e in store.events()] == ["WP-1", "WP-2", "WP-3"]
        assert store.verify_chain().ok
    assert files(env.ws.queue_dir("cur")) == []
    assert files(env.done) == ["1.yaml", "2.yaml"]
    assert files(env.new) == ["4.yaml", "5.yaml"]  # for the next sweep
    with env.store() as store:
        assert Sweeper(env.ws, store).sweep().ingested == 2


def test_a_batch_planned_again_after_another_sweeper_took_its_files_rejects_each_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sweeper A's batch is rolled back (WP-3's events cannot be appended), its files in
    cur/; sweeper B, started meanwhile, finds them there as orphans and ingests or rejects
    each. A then plans them again: what B recorded is found, nothing is recorded twice."""
    plant_refusal(env, "WP-3")
    env.drop("1.yaml", work_package("WP-1", created=t(1)))
    env.drop(
        "2.yaml",
        entry(
            "dispatch", "DSP-9", "WP-404", "human:owner", "to: agent:implementer-1", created=t(2)
        ),
    )
    env.drop("3.yaml", work_package("WP-3", created=t(3)))
    paused, go = threading.Event(), threading.Event()
    real = sweep_module.requeue

    def requeue(staged: Any, waiting: Any) -> None:
        real(staged, waiting)
        if threading.current_thread().name == "A" and not paused.is_set():
            paused.set()
            assert go.wait(30)

    monkeypatch.setattr(sweep_module, "requeue", requeue)
    out: dict[str, Any] = {}
    first, second = env.ws.open_store(), Workspace.load(env.root).open_store()

    def run(name: str, store: Store) -> None:
        out[name] = Sweeper(env.ws, store).sweep()

    a = threading.Thread(target=run, args=("A", first), name="A")
    a.start()
    try:
        assert paused.wait(10), "sweeper A's batch was never planned again"
        assert files(env.ws.queue_dir("cur")) == ["1.yaml", "2.yaml", "3.yaml"]
        b = threading.Thread(target=run, args=("B", second), name="B")
        b.start()
        b.join(30)
    finally:
        go.set()
        a.join(30)
        first.close()
        second.close()
    assert out["B"].recovered == 3 and out["B"].rejected == 2, out["B"].log
    assert out["A"].rejected == 0 and out["A"].ingested == 0, out["A"].log
    with env.store() as store:
        assert [(e.type, e.entry_id) for e in store.events()] == [
            ("task_created", "WP-1"),
            ("entry_rejected", "DSP-9"),
            ("entry_rejected", "WP-3"),
        ]
        assert store.verify_chain().ok
    assert files(env.rejected_dir) == [
        "2.yaml",
        "2.yaml.reason.json",
        "3.yaml",
        "3.yaml.reason.json",
    ]
    assert files(env.done) == ["1.yaml"]
    assert files(env.ws.queue_dir("cur")) == []
