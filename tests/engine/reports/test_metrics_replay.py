"""Accounting, Merkle roots, replay and checkpoints (SPEC 7, 8) on real workspaces.

The metrics scenario books several work packages with known outcomes and checks every
SPEC 8 key against the exact counts it must have. The Merkle tree is held to RFC 6962's
published test vectors and to a plain recursive implementation written here. Replay and
checkpoints are checked against real tampering of the SQLite file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import GOOD_EVIDENCE, Flow, admitted, set_runner, stopped_on
from helpers.workspace import CliResult, Env
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import merkle

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

Cli = Callable[..., CliResult]


# -- metrics ----------------------------------------------------------------------------------


def metrics_workspace(env: Env) -> None:
    """Seven work packages with known outcomes (first verify per claim in brackets):

    WP-A  standard  claim A1 [success]                 → review accepted → complete
    WP-B  standard  claim B1 [blocked: no_open_blockers] → recovery → B2 [success] → complete
    WP-C  standard  claim C1 [failed: validation_passed]
    WP-D  standard  claim D1 [blocked: advisories_treated] → override to complete
    WP-E  light     in progress, no claim → override back to scope_confirmed
    WP-G  standard  claim G1 verified in shadow only [skipped]
    WP-H  deep      claim H1, ingested by a bare sweep: no gate has run on it
    """
    a = Flow(env, "WP-A").ready()
    a.claim()
    admitted(env, "WP-A")
    assert env.cli("review", "WP-A", "--verdict", "accepted").code == 0

    b = Flow(env, "WP-B").ready()
    b.claim(unresolved_questions=["3 or 5 retries?"])
    stopped_on(env, "no_open_blockers", "open_blockers", wp="WP-B")
    b.recovery()
    b.claim()
    admitted(env, "WP-B")
    assert env.cli("review", "WP-B", "--verdict", "accepted").code == 0

    c = Flow(env, "WP-C").ready(validation_commands=["exit 1"])
    c.claim()
    stopped_on(env, "validation_passed", "validation_failure", outcome="failed", wp="WP-C")

    d = Flow(env, "WP-D").book()
    d.ground()
    failing = {"class": "local_command_proof", "ref": "t", "command": "t", "exit_code": 1}
    d.evidence([*GOOD_EVIDENCE, failing])
    d.claim()
    stopped_on(env, "advisories_treated", "advisory_untreated", wp="WP-D")
    result = env.cli("override", "WP-D", "--to", "complete", "--reason", "merged by hand")
    assert result.code == 0, result.err

    Flow(env, "WP-E").book(tier="light")
    # an override that admits nothing is not an overridden admission
    result = env.cli("override", "WP-E", "--to", "scope_confirmed", "--reason", "re-plan")
    assert result.code == 0, result.err

    g = Flow(env, "WP-G").ready()
    set_runner(env, "mode", "shadow")
    g.claim()
    set_runner(env, "mode", "live")
    assert g.state() == "claimed"

    # In shadow G is not verified again (it was, in shadow); H's claim gets a bare sweep.
    set_runner(env, "mode", "shadow")
    h = Flow(env, "WP-H").ready(tier="deep", validation_commands=["true"], rollback_plan="r")
    h.claim(sweep=False)
    with env.ws.open_store() as store:
        assert Sweeper(env.ws, store).sweep().ingested == 1
    assert h.state() == "claimed"


def test_metrics_count_every_spec_key_with_its_denominator(env: Env) -> None:
    metrics_workspace(env)
    result = env.cli("metrics", "--json")
    assert result.code == 0, result.err
    m = result.json()

    assert m["verify_rows"] == {
        "all": 6,
        "known_outcome": 6,  # skipped counts as a known outcome
        "success": 2,
        "blocked": 2,
        "failed": 1,
        "skipped": 1,
        "missing_outcome": 0,
    }
    assert m["known_outcome_success_share"] == {"num": 2, "den": 6}
    # six WPs reached a claim (A, B, C, D, G, H); H has no verify_completed
    assert m["task_verify_coverage"] == {"num": 5, "den": 6}
    # complete: A and B with a gate success, D by override only
    assert m["completed_with_verify"] == {"num": 2, "den": 3}
    assert m["overridden_admissions"] == 1
    assert m["blocked_by_reason_class"] == {"open_blockers": 1, "advisory_untreated": 1}
    assert m["blocked_by_predicate"] == {"no_open_blockers": 1, "advisories_treated": 1}
    # Advisory vs the first non-skipped decision per claim:
    #   A1 safe/success, B1 risky/blocked, B2 safe/success, C1 safe/failed, D1 risky/blocked
    assert m["advisory"] == {
        "agreement": {"num": 4, "den": 5},
        "false_success": {"num": 1, "den": 3},
        "blocked_precision": {"num": 2, "den": 2},
        "blocked_recall": {"num": 2, "den": 3},
    }
    latency = m["claim_to_decision_ms"]
    assert latency["p50"] is not None and latency["p95"] is not None
    assert 0 <= latency["p50"] <= latency["p95"] < 60_000

    log = env.cli("audit", "log", "--json").json()
    tiers = {"WP-A": "standard", "WP-B": "standard", "WP-C": "standard", "WP-D": "standard"}
    tiers |= {"WP-E": "light", "WP-G": "standard", "WP-H": "deep"}
    expected: dict[str, int] = {}
    for event in log:
        if event["work_package"]:
            tier = tiers[event["work_package"]]
            expected[tier] = expected.get(tier, 0) + 1
    assert m["events_by_tier"] == expected
    # WP-E: task_created, dispatched, ports_reserved (the runner's, SPEC 11.4),
    # scope_confirmed, review_recorded (go), override_applied
    assert m["events_by_tier"]["light"] == 6

    text = env.cli("metrics")
    assert text.code == 0
    assert "2/6 = 33.3%" in text.out
    assert "5/6 = 83.3%" in text.out
    assert "2/3 = 66.7%" in text.out
    assert "4/5 = 80.0%" in text.out
    assert "2/2 = 100.0%" in text.out


def test_metrics_of_an_empty_workspace_have_zero_denominators(env: Env) -> None:
    m = env.cli("metrics", "--json").json()
    assert m["verify_rows"]["all"] == 0
    assert m["known_outcome_success_share"] == {"num": 0, "den": 0}
    assert m["task_verify_coverage"] == {"num": 0, "den": 0}
    assert m["claim_to_decision_ms"]["p50"] is None
    assert m["claim_to_decision_ms"]["p95"] is None
    assert "0/0" in env.cli("metrics").out


# -- Merkle tree (RFC 6962) ---------------------------------------------------------------------

RFC6962_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written out recursively over already-hashed leaves."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(leaves[:k]) + reference_mth(leaves[k:])).digest()


def test_merkle_root_matches_the_rfc_6962_test_vectors() -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in RFC6962_INPUTS]
    assert leaves[0].hex() == hashlib.sha256(b"\x00").hexdigest()
    for size, expected in enumerate(RFC6962_ROOTS, start=1):
        assert merkle.root(leaves[:size]).hex() == expected, size
        assert reference_mth(leaves[:size]).hex() == expected, size
    assert merkle.root([]).hex() == EMPTY_ROOT
    assert merkle.node_hash(leaves[0], leaves[1]).hex() == RFC6962_ROOTS[1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=70))
def test_merkle_root_equals_the_recursive_definition(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    assert merkle.root(leaves) == reference_mth(leaves)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 16, 17, 31, 33, 64, 65, 70])
def test_merkle_root_at_tree_size_boundaries(size: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    assert merkle.root(leaves) == reference_mth(leaves)


# -- a busy workspace -------------------------------------------------------------------------


@pytest.fixture
def busy(tmp_path: Path, cli: Cli) -> Workspace:
    """The demo after `run --once`, plus a handful of actions."""
    ws = init_workspace(tmp_path / "busy", demo=True)
    with ws.open_store() as store:
        run_once(ws, store)
    w = ["--workspace", str(ws.root)]
    actions = [
        ["review", "WP-0001", "--verdict", "accepted", "--as", "human:reviewer"],
        ["recover", "WP-0002", "--owner", "agent:implementer-2", "--next-action", "ask"],
        ["veto", "WP-0003", "--reason", "hold"],
        ["veto", "WP-0003", "--reason", "go", "--lift"],
        ["override", "WP-0004", "--to", "in_progress", "--reason", "skip scope check"],
        ["cancel", "WP-0005", "--reason", "not needed"],
    ]
    for args in actions:
        result = cli(*args, *w)
        assert result.code == 0, (args, result.err)
    return ws


def db_rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def db_exec(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> int:
    """Run `statements` in one transaction; returns how many rows they changed."""
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("BEGIN")
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")
        return conn.total_changes
    finally:
        conn.close()


def drop_triggers(db: Path) -> None:
    db_exec(
        db,
        ("DROP TRIGGER IF EXISTS events_no_update", ()),
        ("DROP TRIGGER IF EXISTS events_no_delete", ()),
    )


def event_count(db: Path) -> int:
    return int(db_rows(db, "SELECT count(*) FROM events")[0][0])


# -- replay -------------------------------------------------------------------------------------


def test_replay_of_a_busy_workspace_matches(busy: Workspace, cli: Cli) -> None:
    result = cli("replay", "--json", "--workspace", str(busy.root))
    assert result.code == 0, result.err
    document = result.json()
    assert document["match"] is True
    assert document["live_digest"] == document["replay_digest"]
    assert len(document["live_digest"]) == 64
    assert document["events"] == event_count(busy.db_path)
    text = cli("replay", "--workspace", str(busy.root))
    assert text.code == 0
    assert "matches" in text.out


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE work_packages SET state = 'complete' WHERE id = 'WP-0002'",
        "UPDATE work_packages SET overridden = 0 WHERE id = 'WP-0004'",
        "DELETE FROM edges WHERE rel = 'evidence'",
        "UPDATE entries SET sha256 = '00' WHERE id = 'CLM-0001'",
    ],
)
def test_replay_detects_a_tampered_projection(busy: Workspace, cli: Cli, sql: str) -> None:
    before = cli("replay", "--json", "--workspace", str(busy.root)).json()
    assert db_exec(busy.db_path, (sql, ())) > 0
    result = cli("replay", "--json", "--workspace", str(busy.root))
    assert result.code == 1
    document = result.json()
    assert document["match"] is False
    assert document["live_digest"] != document["replay_digest"]
    assert document["replay_digest"] == before["replay_digest"]  # events are untouched
    assert document["events"] == before["events"]


# -- checkpoints ------------------------------------------------------------------------------


def checkpoint(cli: Cli, ws: Workspace) -> dict[str, Any]:
    result = cli("audit", "checkpoint", "--json", "--workspace", str(ws.root))
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document


def audit_verify(cli: Cli, ws: Workspace) -> tuple[int, dict[str, Any]]:
    result = cli("audit", "verify", "--json", "--workspace", str(ws.root))
    return result.code, json.loads(result.out)


def test_a_checkpoint_records_size_head_and_the_merkle_root_of_the_leaves(
    busy: Workspace, cli: Cli
) -> None:
    size = event_count(busy.db_path)
    document = checkpoint(cli, busy)
    files = sorted(busy.checkpoints_dir.glob("*.json"))
    assert len(files) == 1
    written = json.loads(files[0].read_text())
    assert written["size"] == document["size"] == size
    leaves = [
        bytes.fromhex(leaf)
        for (leaf,) in db_rows(
            busy.db_path, "SELECT leaf FROM events WHERE seq <= ? ORDER BY seq", (size,)
        )
    ]
    assert len(leaves) == size
    assert written["merkle_root"] == document["merkle_root"] == merkle.root(leaves).hex()
    assert written["merkle_root"] == reference_mth(leaves).hex()
    [(head,)] = db_rows(busy.db_path, "SELECT chain FROM events WHERE seq = ?", (size,))
    assert written["head"] == document["head"] == head
    # the checkpoint itself is an event
    [(kind,)] = db_rows(busy.db_path, "SELECT type FROM events WHERE seq = ?", (size + 1,))
    assert kind == "checkpoint_created"

    code, report = audit_verify(cli, busy)
    assert code == 0
    chain = {k: report[k] for k in ("ok", "events", "first_bad_seq", "reason")}
    assert chain == {"ok": True, "events": size + 1, "first_bad_seq": None, "reason": None}
    # a checkpoint changes no projection
    assert cli("replay", "--json", "--workspace", str(busy.root)).json()["match"] is True
    # a second checkpoint covers the first one's event too, and both still verify
    second = checkpoint(cli, busy)
    assert second["size"] == size + 1
    assert len(list(busy.checkpoints_dir.glob("*.json"))) == 2
    assert audit_verify(cli, busy)[0] == 0


@pytest.mark.parametrize("cut", [2, 5, 12])
def test_a_truncated_tail_is_caught_by_the_checkpoint(busy: Workspace, cli: Cli, cut: int) -> None:
    size = checkpoint(cli, busy)["size"]
    total = event_count(busy.db_path)
    assert total == size + 1
    drop_triggers(busy.db_path)
    remaining = total - cut
    db_exec(busy.db_path, ("DELETE FROM events WHERE seq > ?", (remaining,)))
    assert event_count(busy.db_path) == remaining
    assert remaining < size  # events the checkpoint vouches for are gone
    code, report = audit_verify(cli, busy)
    assert code == 1
    assert report["ok"] is False
    assert report["first_bad_seq"] == remaining + 1
    assert report["reason"]


def test_a_truncated_log_that_grew_back_past_the_checkpoint_is_caught(
    busy: Workspace, cli: Cli
) -> None:
    """Cut the tail, then let new events be appended until the log is longer than the
    checkpoint again: the chain is consistent, but the checkpoint's head is not in it."""
    size = checkpoint(cli, busy)["size"]
    drop_triggers(busy.db_path)
    db_exec(busy.db_path, ("DELETE FROM events WHERE seq > ?", (size - 3,)))
    w = ["--workspace", str(busy.root)]
    for i in range(3):
        assert cli("veto", "WP-0003", "--reason", f"again {i}", *w).code == 0
        assert cli("veto", "WP-0003", "--reason", f"lift {i}", "--lift", *w).code == 0
    assert event_count(busy.db_path) > size
    with busy.open_store() as store:
        assert store.verify_chain().ok is True
    code, report = audit_verify(cli, busy)
    assert code == 1
    assert report["ok"] is False
    assert 1 <= report["first_bad_seq"] <= size - 2


def spec_leaf(row: dict[str, Any], payload: Any) -> bytes:
    """SPEC 7's leaf, as a forger with the published formula would compute it."""
    fields = ("seq", "event_id", "parent_seq", "ts", "type", "work_package", "principal")
    event = {k: row[k] for k in fields}
    event["entry_id"] = row["entry_id"]
    event["payload"] = payload
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + canonical.encode()).digest()


def test_a_forgers_consistent_rewrite_passes_the_chain_but_not_the_checkpoint(
    busy: Workspace, cli: Cli
) -> None:
    size = checkpoint(cli, busy)["size"]
    db = busy.db_path
    conn = sqlite3.connect(str(db))
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY seq")]
    conn.close()
    # Rewrite WP-0002's blocked verdict as a success, then recompute every later link.
    target = next(
        r
        for r in rows
        if r["type"] == "verify_completed" and json.loads(r["payload"])["outcome"] == "blocked"
    )
    assert target["seq"] < size
    payload = json.loads(target["payload"])
    payload["outcome"] = "success"
    payload["acceptance_status"] = "accepted"
    statements: list[tuple[str, tuple[Any, ...]]] = []
    previous = bytes(32) if target["seq"] == 1 else bytes.fromhex(rows[target["seq"] - 2]["chain"])
    for row in rows[target["seq"] - 1 :]:
        if row["seq"] == target["seq"]:
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            leaf = spec_leaf(row, payload)
        else:
            text = row["payload"]
            leaf = bytes.fromhex(row["leaf"])
            assert leaf == spec_leaf(row, json.loads(text))  # our formula is SPEC 7's
        link = hashlib.sha256(b"\x02" + previous + leaf).digest()
        statements.append(
            (
                "UPDATE events SET payload = ?, leaf = ?, chain = ? WHERE seq = ?",
                (text, leaf.hex(), link.hex(), row["seq"]),
            )
        )
        previous = link
    drop_triggers(db)
    db_exec(db, *statements)

    # The chain alone is consistent again...
    with busy.open_store() as store:
        assert store.verify_chain().ok is True
    # ...but the checkpoint's head and Merkle root no longer match.
    code, report = audit_verify(cli, busy)
    assert code == 1
    assert report["ok"] is False
    assert 1 <= report["first_bad_seq"] <= target["seq"]
    assert report["reason"]
    text = cli("audit", "verify", "--workspace", str(busy.root))
    assert text.code == 1
    assert "checkpoint" in text.out


def test_a_flipped_event_without_recomputation_names_its_seq(busy: Workspace, cli: Cli) -> None:
    checkpoint(cli, busy)
    db = busy.db_path
    [(seq, text)] = db_rows(db, "SELECT seq, payload FROM events WHERE seq = 5")
    drop_triggers(db)
    db_exec(db, ("UPDATE events SET payload = ? WHERE seq = ?", (text.replace("WP", "XP", 1), seq)))
    code, report = audit_verify(cli, busy)
    assert code == 1
    assert report["first_bad_seq"] == 5
