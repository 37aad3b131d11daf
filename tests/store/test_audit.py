"""The audit chain (SPEC 7): hashing computed independently here, append-only triggers on
the real database file, tamper detection through the real `cockpit audit verify` process,
and a property test over random event logs."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers.workspace import SPEC_EVENT_FIELDS, Env, entry, t, work_package
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import NewEvent, Store, canonical_json, verify_chain

# SPEC 8 / 10.4: the chain's verdict and the signatures' counts.
VERIFY_KEYS = {"ok", "events", "first_bad_seq", "reason", "signatures", "signed_through"}


# -- independent implementations of SPEC 7 -------------------------------------------------


def spec_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def spec_leaf(row: dict[str, Any]) -> bytes:
    event = {name: row[name] for name in SPEC_EVENT_FIELDS if name != "payload"}
    event["payload"] = json.loads(row["payload"])
    return hashlib.sha256(b"\x00" + spec_canonical(event)).digest()


def spec_chain(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x02" + previous + leaf).digest()


def db_rows(db: Path) -> list[dict[str, Any]]:
    """Every events row, straight from the SQLite file."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY seq")]
    finally:
        conn.close()


def assert_chain_matches_spec(rows: list[dict[str, Any]]) -> bytes:
    """Recompute every leaf, link and parent_seq per SPEC 7; return the head."""
    previous = bytes(32)
    last_of_wp: dict[str, int] = {}
    for position, row in enumerate(rows, start=1):
        assert row["seq"] == position, "seq runs 1, 2, 3, ... without gaps"
        payload = json.loads(row["payload"])
        assert isinstance(payload, dict), "payload is a JSON object"
        leaf = spec_leaf(row)
        assert row["leaf"] == leaf.hex(), f"leaf of seq {row['seq']}"
        link = spec_chain(previous, leaf)
        assert row["chain"] == link.hex(), f"chain link of seq {row['seq']}"
        wp = row["work_package"]
        expected_parent = last_of_wp.get(wp) if wp is not None else None
        assert row["parent_seq"] == expected_parent, f"parent_seq of seq {row['seq']}"
        if wp is not None:
            last_of_wp[wp] = row["seq"]
        previous = link
    return previous


# -- workspaces ------------------------------------------------------------------------------


def ingested_demo(root: Path) -> Workspace:
    """The demo walkthrough, initialised and swept once: a real database on disk."""
    ws = init_workspace(root, demo=True)
    with ws.open_store() as store:
        summary = run_once(ws, store)
    assert summary.sweep.ingested > 0
    return ws


@pytest.fixture
def demo(tmp_path: Path) -> Workspace:
    return ingested_demo(tmp_path / "demo")


def drop_triggers(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
            )
        ]
        assert names, "the events table is guarded by triggers"
        for name in names:
            conn.execute(f'DROP TRIGGER "{name}"')
    finally:
        conn.close()


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Drop the append-only triggers, then run `statements` in one transaction."""
    drop_triggers(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")
    finally:
        conn.close()


def audit_verify(ws_dir: Path) -> tuple[int, dict[str, Any], str]:
    """Run `cockpit audit verify --json` as a real process."""
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_WORKSPACE"}
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "audit", "verify", "--json", "--workspace", str(ws_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ws_dir,
    )
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 1, f"stderr is at most one line, got {len(lines)}: ...{proc.stderr[-600:]}"
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(
            f"stdout is not one JSON document (exit {proc.returncode}): "
            f"stdout={proc.stdout!r} stderr={proc.stderr[-2000:]!r}"
        )
    assert set(document) == VERIFY_KEYS
    return proc.returncode, document, proc.stderr


# -- (a) hashing per SPEC 7 ------------------------------------------------------------------


def test_demo_chain_hashes_are_spec_7(demo: Workspace) -> None:
    rows = db_rows(demo.db_path)
    assert len(rows) >= 20
    head = assert_chain_matches_spec(rows)
    with demo.open_store() as store:
        report = store.verify_chain()
        events = store.events()
    assert report.ok and report.events == len(rows) and report.head == head.hex()
    # The API returns the same events the file holds, payload as an object.
    assert [e.to_json()["payload"] for e in events] == [json.loads(r["payload"]) for r in rows]
    assert [e.seq for e in events] == [r["seq"] for r in rows]


def test_parent_seq_links_interleaved_work_packages(env: Env) -> None:
    env.drop("1.yaml", work_package("WP-1", created=t(0)))
    env.drop("2.yaml", work_package("WP-2", created=t(1)))
    env.drop(
        "3.yaml",
        entry("dispatch", "D-1", "WP-1", "human:owner", "to: agent:implementer-1", created=t(2)),
    )
    env.drop("4.yaml", b"schema: [unclosed\n")  # parse_error: an event with no WP
    env.drop(
        "5.yaml",
        entry("dispatch", "D-2", "WP-2", "human:owner", "to: agent:implementer-1", created=t(3)),
    )
    env.drop(
        "6.yaml", entry("veto", "V-1", "WP-1", "human:reviewer", "reason: hold on", created=t(4))
    )
    env.drop(
        "7.yaml", entry("claim", "C-2", "WP-2", "human:owner", "done_state: done", created=t(5))
    )  # capability_denied: a rejection naming WP-2
    summary = env.sweep()
    assert summary.sweep.ingested == 5 and summary.sweep.rejected == 2, summary.sweep.log
    rows = db_rows(env.ws.db_path)
    assert_chain_matches_spec(rows)
    by_wp: dict[Any, list[int]] = {}
    for row in rows:
        by_wp.setdefault(row["work_package"], []).append(row["seq"])
    assert None in by_wp, "the unparsable entry's rejection has no work package"
    # booked, dispatched, vetoed or rejected, and the live WP's ports (SPEC 11.4)
    assert len(by_wp["WP-1"]) == 4 and len(by_wp["WP-2"]) == 4
    for wp in ("WP-1", "WP-2"):
        seqs = by_wp[wp]
        parents = [r["parent_seq"] for r in rows if r["work_package"] == wp]
        assert parents == [None, *seqs[:-1]]
        assert any(b - a > 1 for a, b in itertools.pairwise(seqs)), "interleaved"
    assert all(r["parent_seq"] is None for r in rows if r["work_package"] is None)


def test_canonical_json_is_the_spec_form_and_refuses_floats() -> None:
    value = {"b": [1, True, None, {"z": "é", "a": -3}], "a": "ü\n", "c": {}}
    assert canonical_json(value) == spec_canonical(value)
    assert (
        canonical_json(value) == '{"a":"ü\\n","b":[1,true,null,{"a":-3,"z":"é"}],"c":{}}'.encode()
    )
    for bad in ({"x": 1.5}, {"x": [1, 2.0]}, {"x": {"y": {"z": 0.0}}}, [float("nan")]):
        with pytest.raises((TypeError, ValueError)):
            canonical_json(bad)


def test_append_refuses_floats_and_leaves_no_event(tmp_path: Path) -> None:
    with Store.open(tmp_path / "c.db") as store:
        with store.transaction():
            store.append(NewEvent("common_ground_updated", "WP-1", "human:owner", None, {"n": 1}))
        with pytest.raises((TypeError, ValueError)), store.transaction():
            store.append(NewEvent("common_ground_updated", "WP-1", "human:owner", None, {"n": 1.5}))
        assert store.head_seq() == 1
    assert len(db_rows(tmp_path / "c.db")) == 1


def test_append_outside_a_transaction_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "c.db") as store, pytest.raises(RuntimeError):
        store.append(NewEvent("veto_changed", "WP-1", "human:owner", None, {"active": True}))
    assert db_rows(tmp_path / "c.db") == []


def test_a_failed_transaction_appends_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "c.db") as store:
        with pytest.raises(KeyError), store.transaction():
            store.append(NewEvent("veto_changed", "WP-1", "human:owner", None, {"active": True}))
            raise KeyError("boom")
        with store.transaction():
            event = store.append(NewEvent("veto_changed", "WP-1", None, None, {"active": False}))
    assert event.seq == 1 and event.parent_seq is None
    rows = db_rows(tmp_path / "c.db")
    assert [r["seq"] for r in rows] == [1]
    assert_chain_matches_spec(rows)


# -- (b) UPDATE and DELETE are refused by triggers -----------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET payload = '{}' WHERE seq = 5",
        "UPDATE events SET type = 'override_applied' WHERE seq = 1",
        "UPDATE events SET seq = seq + 1000",
        "DELETE FROM events WHERE seq = 7",
        "DELETE FROM events",
        "INSERT INTO events SELECT * FROM events WHERE seq = 3 "
        "ON CONFLICT(seq) DO UPDATE SET type = 'x'",
    ],
)
def test_triggers_refuse_update_and_delete(demo: Workspace, sql: str) -> None:
    before = db_rows(demo.db_path)
    conn = sqlite3.connect(demo.db_path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    finally:
        conn.close()
    assert db_rows(demo.db_path) == before


def test_insert_or_replace_cannot_overwrite_an_event(demo: Workspace) -> None:
    """REPLACE deletes the conflicting row without firing DELETE triggers (SQLite only fires
    them with recursive_triggers on): the append-only log must still refuse it."""
    before = db_rows(demo.db_path)
    donor = before[8]
    columns = list(donor)
    values = [5 if c == "seq" else donor[c] for c in columns]
    conn = sqlite3.connect(demo.db_path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(
                f"INSERT OR REPLACE INTO events ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                values,
            )
    finally:
        conn.close()
    assert db_rows(demo.db_path) == before


# -- (c) tamper detection through the real CLI process -------------------------------------


def test_intact_demo_chain_verifies(demo: Workspace) -> None:
    count = len(db_rows(demo.db_path))
    code, document, stderr = audit_verify(demo.root)
    assert code == 0, stderr
    signatures = document.pop("signatures")
    assert document == {
        "ok": True,
        "events": count,
        "first_bad_seq": None,
        "reason": None,
        "signed_through": None,
    }
    # The demo runs under signatures: optional: people's entries are unsigned, what the
    # scripted agent files is signed with its run's key; nothing is bad.
    assert signatures["bad"] == 0
    assert signatures["checked"] + signatures["unsigned"] == count
    assert signatures["checked"] > 0


def _flip(text: str, choose: str, mask: int) -> bytes:
    data = bytearray(text.encode())
    if choose == "first":
        index = 0
    elif choose == "digit":
        index = next(i for i in range(len(data)) if chr(data[i]) in "0123456789")
    else:  # an ASCII letter in the middle of the payload
        index = next(
            i for i in range(len(data) // 2, len(data)) if data[i] < 0x80 and chr(data[i]).isalpha()
        )
    data[index] ^= mask
    return bytes(data)


@pytest.mark.parametrize(
    ("choose", "mask", "as_text"),
    [
        ("letter", 0x01, True),  # still valid JSON text, different content
        ("letter", 0x20, True),  # change of case
        ("digit", 0x01, True),
        ("first", 0x01, True),  # '{' -> 'z': no longer JSON
        ("letter", 0x80, True),  # high bit: the TEXT column is no longer UTF-8
        ("letter", 0x01, False),  # stored as a BLOB
    ],
)
def test_flipped_payload_byte_names_its_seq(
    demo: Workspace, choose: str, mask: int, as_text: bool
) -> None:
    original = db_rows(demo.db_path)[4]["payload"]
    flipped = _flip(original, choose, mask)
    assert flipped != original.encode()
    value = "CAST(? AS TEXT)" if as_text else "?"
    tamper(demo.db_path, (f"UPDATE events SET payload = {value} WHERE seq = 5", (flipped,)))
    code, document, _ = audit_verify(demo.root)
    assert code == 1
    assert document["ok"] is False
    assert document["first_bad_seq"] == 5
    assert document["events"] == 4, "events verified before the first bad one"
    assert isinstance(document["reason"], str) and document["reason"]


def test_flipped_byte_in_the_database_file_names_its_seq(demo: Workspace) -> None:
    """A byte flipped on disk, triggers intact: exactly what an editor on the file does."""
    db = demo.db_path
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    payload = db_rows(db)[4]["payload"].encode()
    data = bytearray(db.read_bytes())
    # A stretch of the canonical payload (no spaces after ':') found once in the file.
    needle = next(
        payload[i : i + 40]
        for i in range(0, len(payload) - 40)
        if data.count(payload[i : i + 40]) == 1
    )
    index = data.index(needle) + next(i for i, b in enumerate(needle) if chr(b).isalpha())
    data[index] ^= 0x20
    db.write_bytes(bytes(data))
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 5)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "override_applied"),
        ("principal", "human:owner2"),
        ("ts", "2026-01-01T00:00:00.000000Z"),
        ("event_id", "00000000-0000-4000-8000-000000000000"),
        ("entry_id", "X-1"),
        ("work_package", "WP-0005"),
        ("parent_seq", 1),
        ("leaf", "00" * 32),
        ("chain", "00" * 32),
    ],
)
def test_any_changed_column_names_its_seq(demo: Workspace, column: str, value: Any) -> None:
    tamper(demo.db_path, (f"UPDATE events SET {column} = ? WHERE seq = 6", (value,)))
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 6)


def test_deleted_row_names_its_seq(demo: Workspace) -> None:
    tamper(demo.db_path, ("DELETE FROM events WHERE seq = 7", ()))
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 7)
    assert document["events"] == 6


def test_deleted_first_row_names_seq_1(demo: Workspace) -> None:
    tamper(demo.db_path, ("DELETE FROM events WHERE seq = 1", ()))
    code, document, _ = audit_verify(demo.root)
    assert (code, document["first_bad_seq"], document["events"]) == (1, 1, 0)


def test_swapped_rows_name_the_first(demo: Workspace) -> None:
    rows = {r["seq"]: r for r in db_rows(demo.db_path)}
    columns = [c for c in rows[4] if c != "seq"]
    sets = ", ".join(f"{c} = ?" for c in columns)
    tamper(
        demo.db_path,
        (f"UPDATE events SET {sets} WHERE seq = 4", tuple(rows[9][c] for c in columns)),
        (f"UPDATE events SET {sets} WHERE seq = 9", tuple(rows[4][c] for c in columns)),
    )
    after = {r["seq"]: r for r in db_rows(demo.db_path)}
    assert after[4]["event_id"] == rows[9]["event_id"]
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 4)


def test_rows_swapped_by_renumbering_name_the_first(demo: Workspace) -> None:
    tamper(
        demo.db_path,
        ("UPDATE events SET seq = 1000 WHERE seq = 4", ()),
        ("UPDATE events SET seq = 4 WHERE seq = 9", ()),
        ("UPDATE events SET seq = 9 WHERE seq = 1000", ()),
    )
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 4)


def test_reordered_tail_names_the_first_moved_seq(demo: Workspace) -> None:
    count = len(db_rows(demo.db_path))
    # Renumber the last event into a gap: seq `count` becomes `count + 5`.
    tamper(demo.db_path, ("UPDATE events SET seq = ? WHERE seq = ?", (count + 5, count)))
    code, document, _ = audit_verify(demo.root)
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, count)


def test_broken_chain_plain_output_is_one_line_on_each_stream(demo: Workspace) -> None:
    tamper(demo.db_path, ("DELETE FROM events WHERE seq = 7", ()))
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "audit", "verify", "--workspace", str(demo.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "7" in proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 1


# -- (d) property: random logs verify; any changed payload names its seq ----------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)
# Top-level keys the projections interpret are left out: these events are not entries.
_INTERPRETED = {
    "entry",
    "transition",
    "to",
    "summary",
    "edges",
    "severity",
    "id",
    "advisory",
    "outcome",
}
_payload_keys = _text.filter(lambda k: k not in _INTERPRETED)
_payloads = st.dictionaries(_payload_keys, _json, max_size=5)
_events = st.lists(
    st.tuples(
        st.sampled_from(["WP-1", "WP-2", "WP-3", None]),
        st.sampled_from(["review_recorded", "common_ground_updated", "advisory_issued"]),
        st.sampled_from(["human:owner", "agent:implementer-1", None]),
        _payloads,
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=_events, data=st.data())
def test_random_logs_verify_and_any_payload_change_is_named(
    events: list[tuple[str | None, str, str | None, dict[str, Any]]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "c.db"
        with Store.open(db) as store:
            # Several transactions, several events each.
            cut = data.draw(st.integers(0, len(events)), label="cut")
            for batch in (events[:cut], events[cut:]):
                with store.transaction():
                    for wp, kind, principal, payload in batch:
                        store.append(NewEvent(kind, wp, principal, None, payload))
        rows = db_rows(db)
    assert len(rows) == len(events)
    assert [json.loads(r["payload"]) for r in rows] == [e[3] for e in events]
    assert_chain_matches_spec(rows)
    report = verify_chain(rows)
    assert report.ok and report.events == len(events) and report.first_bad_seq is None

    index = data.draw(st.integers(0, len(rows) - 1), label="row")
    original = rows[index]["payload"]
    how = data.draw(st.sampled_from(["char", "payload"]), label="how")
    if how == "char":
        position = data.draw(st.integers(0, len(original) - 1), label="position")
        char = data.draw(st.characters(blacklist_categories=("Cs",)), label="char")
        changed = original[:position] + char + original[position + 1 :]
    else:
        changed = spec_canonical(data.draw(_payloads, label="other")).decode()
    assume(changed != original)
    tampered = [dict(r) for r in rows]
    tampered[index]["payload"] = changed
    bad = verify_chain(tampered)
    assert not bad.ok
    assert bad.first_bad_seq == rows[index]["seq"]
    assert bad.events == index


_TEXT = st.text(max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.dictionaries(_TEXT, _JSON, max_size=5),
    seq=st.integers(1, 2**40),
    parent=st.none() | st.integers(1, 2**40),
    names=st.lists(st.none() | _TEXT, min_size=6, max_size=6),
)
def test_the_verifiers_leaf_from_stored_text_is_the_spec_leaf(
    payload: dict[str, Any], seq: int, parent: int | None, names: list[str | None]
) -> None:
    """audit.leaf_of_stored composes the event's canonical bytes around the stored payload
    text (the verifier's fast path); it must be SPEC 7's leaf for any event."""
    from cockpit.store.audit import event_object, leaf_hash, leaf_of_stored

    event_id, ts, kind, wp, principal, entry_id = names
    row = {
        "seq": seq, "event_id": event_id, "parent_seq": parent, "ts": ts, "type": kind,
        "work_package": wp, "principal": principal, "entry_id": entry_id,
    }  # fmt: skip
    text = canonical_json(payload).decode()
    assert leaf_of_stored(row, text) == leaf_hash(event_object(row, payload))
