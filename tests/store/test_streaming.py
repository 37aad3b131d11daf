"""Replay and `status --json` read the log as a stream (SPEC 7, 8): they give what reading
it whole gave, byte for byte, whatever the batch size, and hold one batch at a time.

The references are written here the plain way (the whole log in a list, a digest by
json.dumps row by row, the status list built from a SELECT), and every test works on real
SQLite files: the demo after `run --once`, small workspaces with forged rows, and
workspaces booked through the store's own API.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tracemalloc
import weakref
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from helpers.forge import forge_row
from helpers.process import clean_env
from helpers.workspace import CliResult, Env, run_cli, t, work_package

from cockpit.cli.base import COMMAND_MODULES, cli, emit_json, emit_json_list, load_commands
from cockpit.engine.lifecycle.recheck import Rechecker, recheck
from cockpit.engine.reports import audit, board
from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import Event, NewEvent, Store, projections, replay, schema

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

Cli = Callable[..., CliResult]

KEYS = {  # each projection table's key, as replay orders it
    "work_packages": "id",
    "entries": "id",
    "edges": "from_id, to_id, rel",
    "rejections": "seq",
    "candidates": "id",
    "canon": "id",
}
VERIFY = {
    "outcome": "blocked",
    "acceptance_status": "withheld",
    "blocking_predicate": "evidence_floor",
    "blocked_reason_class": "evidence_missing",
}


# -- references: the whole log in memory, as before -------------------------------------------


def digest_row_by_row(conn: sqlite3.Connection) -> str:
    """SPEC 7's projection digest, the plain way: json.dumps of each row as a dict."""
    digest = hashlib.sha256()
    for table in schema.PROJECTION_TABLES:
        digest.update(table.encode() + b"\x00")
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {KEYS[table]}")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            record = dict(zip(names, tuple(row), strict=True))
            digest.update(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def rebuilt_whole(store: Store, where: Path) -> tuple[str, int | None]:
    """The projections rebuilt from `store.events()` (one list) in a fresh file: their
    digest, and the seq of the first event that could not be applied."""
    conn = sqlite3.connect(where, isolation_level=None)
    try:
        schema.create_tables(sqlite_utils.Database(conn))
        failed = None
        conn.execute("BEGIN")
        for event in store.events():
            try:
                projections.apply(conn, event)
            except (KeyError, TypeError, ValueError, sqlite3.Error):
                failed = event.seq
                break
        conn.execute("COMMIT")
        return digest_row_by_row(conn), failed
    finally:
        conn.close()


def status_rows_by_select(db: Path) -> list[dict[str, Any]]:
    """SPEC 8's `status` list, built straight from the work_packages table."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT id, title, state, tier, owner, accountable, assignee, overridden, "
            "last_verify FROM work_packages ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    listed = []
    for wp_id, title, state, tier, owner, accountable, assignee, overridden, verify in rows:
        summary = json.loads(verify) if verify is not None else None
        listed.append(
            {
                "id": wp_id,
                "title": title,
                "state": state,
                "tier": tier,
                "owner": owner,
                "accountable": accountable,
                "assignee": assignee,
                "overridden": bool(overridden),
                "last_verify": {k: summary.get(k) for k in VERIFY} if summary else None,
            }
        )
    return listed


# -- workspaces -------------------------------------------------------------------------------


def title(n: int) -> str:
    """Plain titles, and some that SQLite must not write as JSON itself (not ASCII, DEL)
    or that need escaping (quotes, backslash, newline, a control character)."""
    odd = ("Überprüfung — ✓", 'say "hi"\\ \n\t\x01', "rub\x7fout", "emoji 😀")
    return f"{odd[n % 4]} {n}" if n % 3 == 0 else f"work package {n}"


def grow(store: Store, wps: int, start: int = 0) -> None:
    """Book `wps` WPs through Store.append, as ingest and the gate record them: each
    booked and dispatched, every second one's scope confirmed, every third one vetoed or
    lifted, every fourth one with a gate result."""
    with store.transaction():
        for n in range(start, start + wps):
            wp = f"WP-{n:06d}"
            booking = {
                "id": wp,
                "kind": "work_package",
                "work_package": wp,
                "principal": "human:owner",
                "created": "2026-11-21T10:00:00Z",
                "refs": [],
                "body": {
                    "title": title(n),
                    "objective": "o",
                    "owner": "agent:implementer-1",
                    "accountable": "human:owner",
                    "tier": "light",
                    "lane": "implementation",
                },
            }
            moved = {"from": None, "to": "booked"}
            filed = {"sha256": f"{n:064x}", "file": f"{wp}.yaml", "raw": f"id: {wp}\n"}
            store.append(
                NewEvent(
                    "task_created",
                    wp,
                    "human:owner",
                    wp,
                    {"entry": booking, **filed, "edges": [], "transition": moved},
                )
            )
            dsp = {
                **booking,
                "id": f"DSP-{n}",
                "kind": "dispatch",
                "refs": [wp],
                "body": {"to": "agent:implementer-1"},
            }
            edges = [{"from": f"DSP-{n}", "rel": "ref", "to": wp}]
            moved = {"from": "booked", "to": "dispatched"}
            store.append(
                NewEvent(
                    "dispatched",
                    wp,
                    "human:owner",
                    f"DSP-{n}",
                    {
                        "entry": dsp,
                        **filed,
                        "edges": edges,
                        "to": dsp["body"]["to"],
                        "transition": moved,
                    },
                )
            )
            if n % 2 == 0:
                scp = {
                    **dsp,
                    "id": f"SCP-{n}",
                    "kind": "scope_confirmation",
                    "principal": "agent:implementer-1",
                    "body": {"confirmed": True},
                }
                moved = {"from": "dispatched", "to": "scope_confirmed"}
                store.append(
                    NewEvent(
                        "scope_confirmed",
                        wp,
                        "agent:implementer-1",
                        f"SCP-{n}",
                        {
                            "entry": scp,
                            **filed,
                            "edges": [],
                            "confirmed": True,
                            "transition": moved,
                        },
                    )
                )
            if n % 3 == 0:
                store.append(
                    NewEvent("veto_changed", wp, "human:owner", None, {"active": n % 2 == 0})
                )
            if n % 4 == 0:
                store.append(
                    NewEvent(
                        "verify_completed",
                        wp,
                        "agent:verifier",
                        None,
                        {"outcome": "blocked", "summary": {**VERIFY, "extra": n}},
                    )
                )


def booked(root: Path, wps: int) -> Workspace:
    ws = init_workspace(root, tenant="demo")
    with ws.open_store() as store:
        grow(store, wps)
    return ws


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo after `run --once`: agents, gate runs, rejections, signatures."""
    ws = init_workspace(tmp_path_factory.mktemp("streaming") / "demo", demo=True)
    with ws.open_store() as store:
        run_once(ws, store)
    return ws


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Three hundred WPs booked through the store: more events than several batches."""
    return booked(tmp_path_factory.mktemp("streaming") / "grown", 300)


# -- the events as a stream -------------------------------------------------------------------


def events_by_select(db: Path, sql: str = "", args: tuple[Any, ...] = ()) -> list[Event]:
    """The events table's rows, each made an Event as the store made them before."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(f"SELECT * FROM events {sql} ORDER BY seq", args).fetchall()
        return [Event.from_row(dict(row)) for row in rows]
    finally:
        conn.close()


@pytest.mark.parametrize("batch", [1, 2, 7, 256, 100_000])
def test_iter_events_gives_every_row_in_any_batch(grown: Workspace, batch: int) -> None:
    db = grown.db_path
    with grown.open_store() as store:
        assert list(store.iter_events(batch=batch)) == events_by_select(db)
        wp = "WP-000006"
        assert list(store.iter_events(wp, batch=batch)) == events_by_select(
            db, "WHERE work_package = ?", (wp,)
        )
        assert list(store.iter_events(since_seq=5, until_seq=40, batch=batch)) == (
            events_by_select(db, "WHERE seq > 5 AND seq <= 40")
        )
        assert store.events() == events_by_select(db)
        with pytest.raises(ValueError):
            next(store.iter_events(batch=0))


def test_iter_work_packages_decodes_as_work_packages_does(grown: Workspace) -> None:
    with grown.open_store() as store:
        columns = tuple(r[1] for r in store.conn.execute("PRAGMA table_info(work_packages)"))
        assert list(store.iter_work_packages(columns, batch=3)) == store.work_packages()
        some = list(store.iter_work_packages(("id", "overridden", "last_verify"), batch=4))
        assert some == [
            {"id": r["id"], "overridden": r["overridden"], "last_verify": r["last_verify"]}
            for r in store.work_packages()
        ]
        with pytest.raises(ValueError):
            store.iter_work_packages(("id; DROP TABLE events",))


# -- replay: the same document, whatever the batch ----------------------------------------------


@pytest.mark.parametrize("where", ["demo", "grown"])
def test_replay_in_batches_gives_the_digests_of_the_whole_log(
    where: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws: Workspace = request.getfixturevalue(where)
    with ws.open_store() as store:
        live = digest_row_by_row(store.conn)
        rebuilt, failed = rebuilt_whole(store, tmp_path / "whole.db")
        assert failed is None and rebuilt == live
        events = len(store.events())
        documents = [
            replay.replay(store, batch=batch, parallel=parallel)
            for batch in (1, 3, 64, 100_000)
            for parallel in (False, True)
        ]
    expected = {"match": True, "live_digest": live, "replay_digest": live, "events": events}
    assert documents == [expected] * len(documents)


def test_replay_of_the_engine_reads_the_log_once_and_rechecks_it(demo: Workspace) -> None:
    with demo.open_store() as store:
        document = audit.replay(demo, store)
        checked = recheck(store.events(), demo.config)
        live = digest_row_by_row(store.conn)
    assert checked.ok
    assert document == {
        "match": True,
        "live_digest": live,
        "replay_digest": live,
        "events": document["events"],
        "ok": True,
        "first_bad_seq": None,
        "reason": None,
    }


def forged_move(env: Env) -> int:
    """A `task_completed` row moving WP-1 from booked straight to complete: the
    projections take it, the lifecycle never allows it."""
    move = {"transition": {"from": "booked", "to": "complete"}}
    return forge_row(env, "task_completed", "WP-1", "human:owner", move)


def forged_booking(env: Env) -> int:
    """A `task_created` row without its entry: no projection can be built from it."""
    move = {"transition": {"from": None, "to": "booked"}}
    return forge_row(env, "task_created", "WP-2", "human:owner", move)


def replay_in_batches(env: Env, tmp_path: Path) -> list[dict[str, Any]]:
    """`replay --json` through the CLI, and the engine's replay reading 1 and 2 events at
    a time; each rebuilt what the whole log rebuilds, and counted every row."""
    result = env.cli("replay", "--json")
    assert result.code == 1, result.err
    documents = [result.json()]
    ws = env.reload()
    with env.store() as store:
        documents += [audit.replay(ws, store, batch=batch) for batch in (1, 2)]
        rebuilt, _failed = rebuilt_whole(store, tmp_path / "whole.db")
        events = len(store.events())
    assert all(d["replay_digest"] == rebuilt and d["events"] == events for d in documents)
    return documents


def test_a_forged_move_is_named_by_its_seq_in_every_batch(env: Env, tmp_path: Path) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    seq = forged_move(env)
    for document in replay_in_batches(env, tmp_path):
        assert document["ok"] is False and document["first_bad_seq"] == seq
        assert "not allowed in state booked" in document["reason"]


def test_a_row_that_cannot_be_applied_is_named_and_the_rest_still_counted(
    env: Env, tmp_path: Path
) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    bad = forged_booking(env)
    later = forged_move(env)  # after the failure: replay stops before it
    for document in replay_in_batches(env, tmp_path):
        assert document["first_bad_seq"] == bad < later
        assert f"event {bad} cannot be replayed (KeyError" in document["reason"]
        assert document["match"] is False


def test_the_first_of_a_rule_break_and_a_failure_is_named(env: Env, tmp_path: Path) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    first = forged_move(env)
    forged_booking(env)
    for document in replay_in_batches(env, tmp_path):
        assert document["first_bad_seq"] == first
        assert "not allowed in state booked" in document["reason"]


def test_a_tampered_projection_still_differs_in_every_batch(
    grown: Workspace, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(grown.db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE work_packages SET title = 'x' WHERE id = 'WP-000299'")
    with Store.open(copy) as store:
        untouched = digest_row_by_row(store.conn)
        for batch in (1, 1000):
            document = replay.replay(store, batch=batch)
            assert document["match"] is False
            assert document["live_digest"] == untouched != document["replay_digest"]


def test_the_helper_digest_is_not_taken_when_the_log_moved_meanwhile(tmp_path: Path) -> None:
    """The live digest a helper process read at another head is worked out again in
    replay's own read transaction."""
    ws = booked(tmp_path / "moving", 5)
    with ws.open_store() as reader, ws.open_store() as writer:
        with replay._snapshot(reader.conn) as head:
            before = digest_row_by_row(reader.conn)
            grow(writer, 1, start=5)  # committed while the reader's transaction is open
            with replay._LiveDigest(reader.conn, parallel=True) as live:
                assert live.digest(head) == before
                helper = live.helper_found()
        after = digest_row_by_row(reader.conn)
    assert helper is not None and helper["digest"] == after != before
    assert helper["head"][0] > head[0]  # the helper read the grown log


# -- replay holds one event at a time -----------------------------------------------------------


def test_replay_keeps_no_event_it_has_applied(grown: Workspace) -> None:
    """Every event replay has passed on is let go: at most the one being applied (and
    the one before it, until its name is rebound) is alive at any time."""
    alive: list[weakref.ref[Event]] = []
    most = 0

    def watch(event: Event) -> None:
        nonlocal most, alive
        alive = [r for r in alive if r() is not None]
        alive.append(weakref.ref(event))
        most = max(most, len(alive))

    gc.collect()
    with grown.open_store() as store:
        for batch in (1, 50, 500):
            most = 0
            document = replay.replay(store, watch, batch=batch, parallel=False)
            assert document["match"] is True and document["events"] > 3 * 50
            assert most <= 2, (batch, most)


def test_the_states_book_keeps_its_limit_in_memory_and_finds_every_state(tmp_path: Path) -> None:
    with replay.work_package_states(limit=8) as book:
        expected: dict[str, str | None] = {}
        for step in range(600):
            wp = f"WP-{(step * 37) % 200}"  # WPs come back long after they were set
            assert book.get(wp) == expected.get(wp)
            state = (None, "booked", "dispatched", "complete")[step % 4]
            book[wp] = state
            expected[wp] = state
            assert len(book.recent) <= 8
        assert all(book.get(wp) == state for wp, state in expected.items())
        assert book.get("WP-never") is None


def test_rechecking_with_the_states_book_gives_what_a_dict_gives(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("b.yaml", work_package("WP-2", created=t(1)))
    env.sweep()
    seq = forged_move(env)
    with env.store() as store, replay.work_package_states(limit=1) as book:
        checker = Rechecker(env.reload().config, book)
        for event in store.iter_events(batch=1):
            checker.see(event)
        assert checker.result == recheck(store.events(), env.ws.config)
        assert checker.result.first_bad_seq == seq


def replay_peak(ws: Workspace) -> int:
    """tracemalloc's peak (bytes) while replaying `ws` in-process (the SQLite page cache
    is not Python's memory, so this counts what replay itself holds)."""
    with ws.open_store() as store:
        gc.collect()
        tracemalloc.start()
        try:
            document = replay.replay(store, parallel=False)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert document["match"] is True
    return peak


def test_replay_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    # Both logs hold several batches of every kind (256 events, 256 rows hashed at a time).
    small, large = booked(tmp_path / "small", 600), booked(tmp_path / "large", 2400)
    small_peak, large_peak = replay_peak(small), replay_peak(large)
    # The whole-log code held four times as much for the large log; a stream, the same.
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)


# -- status --json: the same bytes, written as read -----------------------------------------


@pytest.mark.parametrize("where", ["demo", "grown"])
def test_status_json_is_the_list_a_select_gives(
    where: str, request: pytest.FixtureRequest, cli: Cli
) -> None:
    ws: Workspace = request.getfixturevalue(where)
    result = cli("status", "--json", "--workspace", str(ws.root))
    assert result.code == 0, result.err
    expected = status_rows_by_select(ws.db_path)
    assert result.out == json.dumps(expected, indent=2) + "\n"
    assert any(row["last_verify"] for row in expected)
    with ws.open_store() as store:
        assert board.board(store) == expected


def test_status_json_of_no_work_package_is_an_empty_list(tmp_path: Path, cli: Cli) -> None:
    ws = init_workspace(tmp_path / "empty")
    result = cli("status", "--json", "--workspace", str(ws.root))
    assert (result.code, result.out) == (0, "[]\n")


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_a_list_written_item_by_item_is_the_list_written_whole(batch: int) -> None:
    items: list[Any] = [
        {"id": "a", "n": 1, "ok": True, "none": None, "f": 1.5, "nested": {"x": [1, {}, []]}},
        {"ü": 'é\n"\\', 1: "int key", "list": ["%s", "%"], "empty": {}},
        [],
        "text",
        {"t": (1, 2), "nan": float("nan")},
    ]
    whole, streamed = io.StringIO(), io.StringIO()
    with redirect_stdout(whole):
        emit_json(items)
    with redirect_stdout(streamed):
        emit_json_list(iter(items), batch=batch)
    assert streamed.getvalue() == whole.getvalue()


class Drain(io.StringIO):
    """A stdout that keeps nothing: only what status itself holds is measured."""

    def write(self, text: str) -> int:
        return len(text)


def status_peak(ws: Workspace) -> int:
    """tracemalloc's peak (bytes) while `status --json` writes `ws`'s board."""
    with ws.open_store() as store:
        gc.collect()
        tracemalloc.start()
        try:
            with redirect_stdout(Drain()):
                emit_json_list(board.iter_board(store))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_status_json_memory_does_not_grow_with_the_work_packages(tmp_path: Path) -> None:
    # Both boards are several batches long (256 rows read, 256 items written at a time).
    small, large = booked(tmp_path / "small", 600), booked(tmp_path / "large", 2400)
    small_peak, large_peak = status_peak(small), status_peak(large)
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)


# -- the CLI starts lean ------------------------------------------------------------------------


def test_every_command_is_found_in_the_module_the_group_names() -> None:
    load_commands()
    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == {name: f"cockpit.cli.{module}" for name, module in COMMAND_MODULES.items()}


_WRAPPER = """
import json, sys
from cockpit.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print()
watched = ("cockpit.cli.", "textual", "git")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(watched))))
"""


def test_status_json_imports_no_other_command_nor_textual_nor_git(demo: Workspace) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, "status", "--json", "--workspace", str(demo.root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    *listed, _blank, loaded = proc.stdout.splitlines()
    assert [row["id"] for row in json.loads("\n".join(listed))] == [
        row["id"] for row in status_rows_by_select(demo.db_path)
    ]
    assert json.loads(loaded) == ["cockpit.cli.base", "cockpit.cli.workspace"], proc.stderr


def test_help_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, ["--help"])
    assert result.code == 0
    for name in COMMAND_MODULES:
        assert f"  {name} " in result.out
