"""`cockpit run --once` reports failure (issue 11, point 8): entries that could not be
applied, because the store refused the write, make it exit 1 and say how many."""

from __future__ import annotations

import os
import sqlite3

from helpers.workspace import Env, entry, t, work_package


def refuse_every_event(env: Env) -> None:
    """A real database refusing writes: a trigger planted in the store."""
    with sqlite3.connect(env.ws.db_path) as conn:
        conn.execute(
            "CREATE TRIGGER planted BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'the store refuses writes'); END"
        )


def test_run_once_exits_1_when_entries_failed(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    assert env.cli("run", "--once").code == 0
    refuse_every_event(env)
    for n in (1, 2):
        veto = entry("veto", f"VETO-{n}", "WP-1", "human:owner", "reason: r", created=t(n))
        env.drop(f"veto{n}.yaml", veto)
    result = env.cli("run", "--once")
    assert result.code == 1, (result.out, result.err)
    assert "2 entries failed" in result.err, result.err
    # Not the entries' fault: they wait in queue/cur/ for the next run.
    assert sorted(os.listdir(env.ws.queue_dir("cur"))) == ["veto1.yaml", "veto2.yaml"]


def test_run_once_json_exits_1_with_the_errors_counted(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    assert env.cli("run", "--once").code == 0
    refuse_every_event(env)
    env.drop("veto.yaml", entry("veto", "VETO-1", "WP-1", "human:owner", "reason: r", created=t(1)))
    result = env.cli("run", "--once", "--json")
    assert result.code == 1, (result.out, result.err)
    summary = result.json()
    assert summary["errors"] == 1
    [failed] = [p for p in summary["plan"] if p.get("outcome") == "error"]
    assert failed["file"] == "veto.yaml" and failed["entry_id"] == "VETO-1"
    assert "1 entry failed" in result.err
