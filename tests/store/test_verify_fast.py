"""The fast verifier (cockpit.store.verify, audit.ChainWalk, audit.CanonicalShapes) against
the verifier it replaced: the same report on real SQLite files tampered every way, walked
in one process or two; the canonical-form test by shape against json.loads + canonical_json
on random canonical and mutated texts; progress, Ctrl-C and the forked process."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pty
import random
import select
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.workspace import SPEC_EVENT_FIELDS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import NewEvent, Store, canonical_json
from cockpit.store.audit import CanonicalShapes, ChainWalk, canonical_by_shape
from cockpit.store.verify import SPLIT_FROM, verify_events

COLUMNS = (*SPEC_EVENT_FIELDS, "leaf", "chain")
TEXTS = tuple(c for c in COLUMNS if c not in ("seq", "parent_seq"))
Report = tuple[bool, int, int | None, str | None, str | None]


# -- the oracle: the verifier as it was before (one row at a time, every text column read
# as bytes and decoded, the payload parsed and serialised again) ------------------------------


class _Float(ValueError):
    pass


def _no_float(text: str) -> Any:
    raise _Float(text)


def _field(value: Any) -> str:
    if isinstance(value, float):
        raise TypeError("an event field holds a float")
    return json.dumps(value, ensure_ascii=False)


def _leaf(row: dict[str, Any], text: str) -> bytes:
    parts = [
        f'"{name}":{text if name == "payload" else _field(row[name])}'
        for name in sorted(SPEC_EVENT_FIELDS)
    ]
    return hashlib.sha256(b"\x00" + ("{" + ",".join(parts) + "}").encode()).digest()


def _content(row: dict[str, Any], previous: bytes) -> tuple[str | None, bytes]:
    text = row["payload"]
    try:
        payload = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except _Float:
        return "payload holds a float; events carry integers and strings only", previous
    except (TypeError, ValueError, RecursionError):
        return "payload is not valid JSON", previous
    if json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False) != text:
        return "payload is not in the canonical form it was written in", previous
    try:
        leaf = _leaf(row, text)
    except TypeError as exc:
        return str(exc), previous
    if leaf.hex() != row["leaf"]:
        return "event content does not match its leaf hash", previous
    link = hashlib.sha256(b"\x02" + previous + leaf).digest()
    if link.hex() != row["chain"]:
        return "chain link does not follow from the previous event", previous
    return None, link


def oracle(db: Path) -> Report:
    conn = sqlite3.connect(db)
    try:
        columns = ", ".join(f"CAST({c} AS BLOB)" if c in TEXTS else c for c in COLUMNS)
        rows = conn.execute(f"SELECT {columns} FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()
    previous, last_of_wp, count = bytes(32), {}, 0
    for values in rows:
        row = dict(zip(COLUMNS, values, strict=True))
        for column in TEXTS:
            if isinstance(row[column], bytes):
                try:
                    row[column] = row[column].decode()
                except UnicodeDecodeError:
                    row[column] = "\ufffd<not UTF-8>"
        expected, seq = count + 1, row["seq"]
        if seq != expected:
            if isinstance(seq, int) and seq > expected:
                reason = f"event {expected} is missing (the log jumps to {seq})"
            else:
                reason = f"event at position {expected} has seq {seq} (rows out of order)"
            return (False, count, expected, reason, None)
        problem, link = _content(row, previous)
        if problem is None:
            wp = row["work_package"]
            if row["parent_seq"] != (last_of_wp.get(wp) if wp is not None else None):
                problem = (
                    f"parent_seq does not name the previous event of {wp or 'no work package'}"
                )
        if problem is not None:
            return (False, count, seq, problem, None)
        if row["work_package"] is not None:
            last_of_wp[row["work_package"]] = seq
        previous, count = link, count + 1
    return (True, count, None, None, previous.hex() if count else None)


def fast(db: Path, **how: Any) -> Report:
    with Store.open(db) as store:
        report = verify_events(store.conn, **how)
    return (report.ok, report.events, report.first_bad_seq, report.reason, report.head)


def assert_same_findings(db: Path) -> Report:
    """One process and two, with small and large batches, all say what the oracle says."""
    expected = oracle(db)
    with Store.open(db) as store:
        report = store.verify_chain()
    assert (report.ok, report.events, report.first_bad_seq, report.reason, report.head) == (
        expected
    )
    for how in ({"split": False, "batch": 3}, {"split": True, "batch": 3}, {"split": True}):
        assert fast(db, **how) == expected, how
    return expected


# -- logs on real SQLite files -------------------------------------------------------------------

_STRINGS = [
    "plain",
    "line one\nline two\ttabbed\r",
    'a "quoted" word',
    "back\\slash and \\n not an escape",
    "é ü 日本 😀 \u2028 \x7f",
    "\x01\x1f control",
    "\\",
    "",
    "path/with/slashes",
    'yaml: [\\"x\\"]\n',
]
_INTERPRETED = {"entry", "transition", "to", "summary", "edges", "severity", "id", "advisory"}


def _payload(rng: random.Random, n: int) -> dict[str, Any]:
    """A payload of the kinds of values events carry (no key the projections interpret)."""

    def value(depth: int) -> Any:
        kind = rng.randrange(9 if depth < 3 else 5)
        if kind == 0:
            return rng.choice(_STRINGS) + str(rng.randrange(10 ** rng.randrange(1, 8)))
        if kind == 1:
            return rng.choice([0, -1, 7, 42, 10**9 + n, -(10**12), 2**70, n])
        if kind == 2:
            return rng.choice([None, True, False])
        if kind in (3, 4):
            return f"{rng.choice(_STRINGS)}-{n}"
        if kind in (5, 6):
            return {
                rng.choice(["a", "b1", "b9", "z", "é", 'q"k', "k\\", "n\n"]) + str(i): value(
                    depth + 1
                )
                for i in range(rng.randrange(4))
            }
        return [value(depth + 1) for _ in range(rng.randrange(4))]

    return {
        key: value(1)
        for key in rng.sample(["body", "note", "file", "raw", "sha256", "count", "list"], 4)
    }


def build_log(db: Path, n: int, seed: int = 7) -> None:
    """`n` events through the store: payloads of a few shapes (as a real log's, where each
    event type has its own), strings and integers varying."""
    rng = random.Random(seed)
    shapes = [_payload(rng, i) for i in range(4)]
    with Store.open(db) as store, store.transaction():
        for i in range(n):
            wp = rng.choice(["WP-1", "WP-2", "WP-3", "WP-10", None])
            kind = rng.choice(["review_recorded", "common_ground_updated", "advisory_issued"])
            principal = rng.choice(["human:owner", "agent:implementer-1", None])
            entry = rng.choice([None, f"E-{i}"])
            payload = _same_shape(rng.choice(shapes), rng) if i % 7 else _payload(rng, i)
            store.append(NewEvent(kind, wp, principal, entry, payload))


def rows_of(db: Path) -> dict[int, dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {r["seq"]: dict(r) for r in conn.execute("SELECT * FROM events ORDER BY seq")}
    finally:
        conn.close()


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Drop the append-only triggers, then run `statements` in one transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        ).fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("BEGIN")
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")
    finally:
        conn.close()


def rehash(db: Path, start: int) -> None:
    """What a forger with write access does next: recompute the leaf and the chain link of
    every row from seq `start` on, around the payload texts as they are now stored."""
    rows = rows_of(db)
    previous = bytes.fromhex(rows[start - 1]["chain"]) if start > 1 else bytes(32)
    statements = []
    for seq in sorted(s for s in rows if s >= start):
        row = rows[seq]
        # As _leaf, but a float field is written as it is (the forger's way, not SPEC 7's).
        written = {n: json.dumps(v, ensure_ascii=False) for n, v in row.items()}
        parts = [
            f'"{name}":{row[name] if name == "payload" else written[name]}'
            for name in sorted(SPEC_EVENT_FIELDS)
        ]
        leaf = hashlib.sha256(b"\x00" + ("{" + ",".join(parts) + "}").encode()).digest()
        previous = hashlib.sha256(b"\x02" + previous + leaf).digest()
        statements.append(
            (
                "UPDATE events SET leaf = ?, chain = ? WHERE seq = ?",
                (leaf.hex(), previous.hex(), seq),
            )
        )
    tamper(db, *statements)


def forge_payload(db: Path, seq: int, text: str) -> None:
    tamper(db, ("UPDATE events SET payload = ? WHERE seq = ?", (text, seq)))
    rehash(db, seq)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    db = tmp_path / "c.db"
    build_log(db, 60)
    return db


# -- non-canonical spellings of a canonical text -------------------------------------------------


def spellings(text: str) -> list[str]:
    """Texts that parse (or almost parse) to what `text` does but are not canonical: each
    keeps most of the text's shape, so the test by shape is what must catch it."""
    value = json.loads(text)
    out = [
        text.replace(":", ": ", 1),
        text.replace(",", ", ", 1),
        text + " ",
        text.replace('"', '"\\u0041', 1)
        if '":"' not in text
        else text.replace('":"', '":"\\u0041', 1),
        text.replace("/", "\\/", 1),
        text.replace("\\n", "\\u000a", 1),
        text.replace("\\u001f", "\\u001F", 1),
        text.replace("\\n", "\n", 1),
        text.replace("é", "\\u00e9", 1),
        text.replace("😀", "\\ud83d\\ude00", 1),
        text.replace('":0', '":-0', 1),
        text.replace('":7', '":07', 1),
        text.replace('":42', '":42.0', 1),
        text.replace('":42', '":4.2e1', 1),
        text.replace('":7', '":NaN', 1),
        text.replace("true", "True", 1),
        text.replace('"plain', '"pla\\in', 1),
        text.replace('"plain', '"pl\\"ain', 1),
    ]
    if isinstance(value, dict) and len(value) >= 2:
        keys = sorted(value)
        swapped = {keys[1]: value[keys[1]], keys[0]: value[keys[0]]}
        swapped.update({k: value[k] for k in keys[2:]})
        out.append(json.dumps(swapped, separators=(",", ":"), ensure_ascii=False))
        out.append(text[:-1] + "," + json.dumps(keys[0]) + ":null}")  # a duplicate key
    return [t for t in out if t != text]


def reference_canonical(text: str) -> bool:
    """What the verifier holds a payload to: json.loads, then canonical_json, equals it."""
    try:
        value = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
        return canonical_json(value).decode() == text
    except (ValueError, TypeError, RecursionError, UnicodeError):
        return False


# -- (a) the canonical test by shape: exactly as strict as the reference --------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(_STRINGS)
_keys = _text | st.sampled_from(["a1", "a9", "a10", "b", "é", "\\", '"', "\n"])
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
_alphabet = list('"\\{}[],: \t\n0123456789-.eEunlrtfbacé😀\x00\x01\x1f\x7f\u2028/')


def _same_shape(value: Any, rng: random.Random) -> Any:
    """`value` with other string values and integers of the same digit pattern."""
    if isinstance(value, str):
        return rng.choice(_STRINGS) + value[::-1]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int("".join(c if c in "-0" else str(rng.randrange(1, 10)) for c in str(value)))
    if isinstance(value, list):
        return [_same_shape(v, rng) for v in value]
    return {k: _same_shape(v, rng) for k, v in value.items()}


def _write(value: Any, spell: Callable[[str, bool], str]) -> str:
    """Canonical JSON of `value` with each string (key or not) written by `spell`."""
    if isinstance(value, dict):
        pairs = [f"{spell(k, True)}:{_write(value[k], spell)}" for k in sorted(value)]
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(v, spell) for v in value) + "]"
    if isinstance(value, str):
        return spell(value, False)
    return json.dumps(value)


def _respelled(value: Any, rng: random.Random) -> list[str]:
    """`value` written with one string, one pair of keys or one integer spelt otherwise:
    the same skeleton (or the same keys) as its canonical text, often not canonical."""
    strings: list[tuple[str, bool]] = []
    _write(value, lambda s, key: strings.append((s, key)) or "")
    out = []
    for target, _ in rng.sample(strings, min(len(strings), 4)):
        if not target:
            continue
        i = rng.randrange(len(target))
        char = target[i]
        forms = [f"\\u{ord(char):04x}", f"\\u{ord(char):04X}", "\\/", char + "\x01", "\\x"]
        if ord(char) > 0xFFFF:
            high, low = divmod(ord(char) - 0x10000, 0x400)
            forms.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        form = rng.choice(forms)

        def spell(s: str, key: bool, target: str = target, i: int = i, form: str = form) -> str:
            if s != target:
                return json.dumps(s, ensure_ascii=False)
            head = json.dumps(s[:i], ensure_ascii=False)[:-1]
            return head + form + json.dumps(s[i + 1 :], ensure_ascii=False)[1:]

        out.append(_write(value, spell))
    # Two keys of one object swapped, their values left in place: the same skeleton.
    dicts, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            dicts.append(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    for d in dicts:
        if len(d) >= 2:
            first, second = rng.sample(sorted(d), 2)
            canonical = _write(value, lambda s, key: json.dumps(s, ensure_ascii=False))
            a, b = json.dumps(first, ensure_ascii=False), json.dumps(second, ensure_ascii=False)
            out.append(
                canonical.replace(a + ":", "\x00", 1)
                .replace(b + ":", a + ":", 1)
                .replace("\x00", b + ":", 1)
            )
    # An integer with a leading zero, or minus zero: the same digits as another.
    text = canonical_json(value).decode()
    for number in {
        t
        for t in text.replace("[", ",").replace("]", ",").replace("}", ",").split(",")
        if t.split(":")[-1].lstrip("-").isdigit()
    }:
        digits = number.split(":")[-1]
        for wrong in ("0" + digits.lstrip("-")[1:] if len(digits.lstrip("-")) > 1 else "-0", "-0"):
            out.append(text.replace(number, number[: len(number) - len(digits)] + wrong, 1))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_values, data=st.data())
def test_the_shape_test_proves_only_canonical_texts(value: Any, data: st.DataObject) -> None:
    text = canonical_json(value).decode()
    assert reference_canonical(text)
    shapes = CanonicalShapes()
    shapes.learn(text.encode())
    # It proves what it learnt, and texts of the same shape.
    assert canonical_by_shape(shapes, text)
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    other = _same_shape(value, rng)
    other_text = canonical_json(other).decode()
    assert canonical_by_shape(shapes, other_text)
    # Anything else it proves must be canonical: texts of the same skeleton spelt otherwise,
    # non-canonical spellings, random edits.
    candidates = [*_respelled(value, rng), *_respelled(other, rng)]
    candidates += [*spellings(text), *spellings(other_text)]
    for _ in range(6):
        position = data.draw(st.integers(0, len(text)), label="position")
        char = data.draw(st.sampled_from(_alphabet), label="char")
        how = data.draw(st.sampled_from(["put", "insert", "delete"]), label="how")
        end = position + (0 if how == "insert" else 1)
        candidates.append(text[:position] + ("" if how == "delete" else char) + text[end:])
    for candidate in candidates:
        if canonical_by_shape(shapes, candidate):
            assert reference_canonical(candidate), candidate


@settings(max_examples=200, deadline=None)
@given(value=_values, data=st.data())
def test_learning_only_canonical_texts_never_proves_a_non_canonical_one(
    value: Any, data: st.DataObject
) -> None:
    """Many shapes learnt from many canonical texts still prove nothing non-canonical."""
    shapes = CanonicalShapes()
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    texts = [canonical_json(value).decode()]
    texts += [canonical_json(_same_shape(value, rng)).decode() for _ in range(3)]
    for text in texts:
        shapes.learn(text.encode())
    for text in texts:
        for candidate in spellings(text):
            assert not canonical_by_shape(shapes, candidate) or reference_canonical(candidate)


# -- (b) same findings as the verifier it replaced, on real files ---------------------------------


def test_an_intact_log_verifies_in_one_process_and_in_two(log: Path) -> None:
    ok, events, first_bad, reason, head = assert_same_findings(log)
    assert (ok, events, first_bad, reason) == (True, 60, None, None)
    assert head == rows_of(log)[60]["chain"]


def test_rows_of_a_shape_already_seen_take_the_fast_path(log: Path) -> None:
    """Only a row of a payload shape not seen before is parsed and serialised again."""
    with Store.open(log) as store:
        walk = ChainWalk(decode=True)
        cursor = store.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY seq")
        assert walk.walk(tuple(r) for r in cursor)
    payloads = [json.loads(r["payload"]) for r in rows_of(log).values()]
    shapes = {json.dumps(_shape_of(p)) for p in payloads}
    assert walk.count == 60 and walk.slow == len(shapes) < 20


def _shape_of(value: Any) -> Any:
    if isinstance(value, str):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return "".join("1" if c in "123456789" else c for c in str(value))
    if isinstance(value, list):
        return [_shape_of(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape_of(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("seq", [1, 30, 31, 60])
def test_a_non_canonical_payload_with_a_forged_chain_is_named(log: Path, seq: int) -> None:
    """The leaf and every link after it recomputed around the new text: only the test of
    canonical form can tell, in whichever half of the walk the row is."""
    text = rows_of(log)[seq]["payload"]
    variants = spellings(text)
    assert variants
    for variant in variants:
        shadow = log.with_name(f"v{variants.index(variant)}.db")
        shadow.write_bytes(log.read_bytes())
        forge_payload(shadow, seq, variant)
        ok, events, first_bad, _, _ = assert_same_findings(shadow)
        if reference_canonical(variant):  # a different but canonical payload: consistent
            assert ok, variant
        else:
            assert (ok, events, first_bad) == (False, seq - 1, seq), variant


def test_a_canonical_forgery_with_a_forged_chain_verifies(log: Path) -> None:
    """A payload rewritten in canonical form, leaf and chain recomputed: the chain alone
    cannot tell (checkpoints do), and the fast path must not invent a finding."""
    forge_payload(log, 40, canonical_json({"note": "rewritten", "count": 12345}).decode())
    assert assert_same_findings(log)[0] is True


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "override_applied"),
        ("principal", None),
        ("work_package", "WP-9"),
        ("entry_id", "X-1"),
        ("ts", "2026-01-01T00:00:00.000000Z"),
        ("parent_seq", 3),
        ("parent_seq", "3"),
        ("parent_seq", 2.5),
        ("parent_seq", None),
        ("event_id", "00000000-0000-4000-8000-000000000000"),
    ],
)
@pytest.mark.parametrize("seq", [5, 31, 52])
def test_a_changed_field_with_a_forged_chain_has_the_same_finding(
    log: Path, seq: int, column: str, value: Any
) -> None:
    tamper(log, (f"UPDATE events SET {column} = ? WHERE seq = ?", (value, seq)))
    rehash(log, seq)
    assert_same_findings(log)


def test_a_parent_seq_naming_the_first_half_is_checked_across_halves(tmp_path: Path) -> None:
    """WP-A's events are all in the first half but its last, whose parent_seq is forged (and
    the chain with it): the second process cannot know, the first one must check it."""
    db = tmp_path / "c.db"
    with Store.open(db) as store, store.transaction():
        for i in range(40):
            wp = "WP-A" if i in (0, 3, 30) else f"WP-{i}"
            store.append(NewEvent("review_recorded", wp, None, None, {"n": i}))
    assert rows_of(db)[31]["parent_seq"] == 4
    tamper(db, ("UPDATE events SET parent_seq = 1 WHERE seq = 31", ()))
    rehash(db, 31)
    assert assert_same_findings(db)[:3] == (False, 30, 31)


@pytest.mark.parametrize(
    "statements",
    [
        [("DELETE FROM events WHERE seq = 30", ())],  # the last row of the first half
        [("DELETE FROM events WHERE seq = 31", ())],  # the first of the second
        [("DELETE FROM events WHERE seq BETWEEN 28 AND 33", ())],
        [("DELETE FROM events WHERE seq > 45", ())],  # a truncated tail verifies
        [("DELETE FROM events WHERE seq = 1", ())],
        [("UPDATE events SET seq = 1000 WHERE seq = 60", ())],
        [
            ("UPDATE events SET seq = 1000 WHERE seq = 20", ()),
            ("UPDATE events SET seq = 20 WHERE seq = 40", ()),
            ("UPDATE events SET seq = 40 WHERE seq = 1000", ()),
        ],
        [
            (
                "INSERT INTO events SELECT 0, event_id, parent_seq, ts, type, work_package, "
                "principal, entry_id, payload, leaf, chain FROM events WHERE seq = 1",
                (),
            )
        ],
        [
            (
                "INSERT INTO events SELECT -5, event_id, parent_seq, ts, type, work_package, "
                "principal, entry_id, payload, leaf, chain FROM events WHERE seq = 40",
                (),
            )
        ],
    ],
)
def test_gaps_and_moved_rows_have_the_same_finding(
    log: Path, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    tamper(log, *statements)
    assert_same_findings(log)


@pytest.mark.parametrize("seq", [1, 7, 30, 31, 59])
@pytest.mark.parametrize("column", ["payload", "type", "leaf", "chain", "work_package"])
def test_a_byte_that_breaks_utf8_is_named_at_its_seq(log: Path, seq: int, column: str) -> None:
    """SQLite cannot decode the batch: from there, columns are read as bytes and the bad
    one is named at its own seq, in either half and in any batch."""
    data = bytearray((rows_of(log)[seq][column] or "x").encode())
    at = next(
        i for i in range(len(data) // 2, -1, -1) if all(b < 0x80 for b in data[i - 1 : i + 2])
    )
    data[at] |= 0x80  # among ASCII bytes: never valid UTF-8
    tamper(log, (f"UPDATE events SET {column} = CAST(? AS TEXT) WHERE seq = ?", (bytes(data), seq)))
    assert assert_same_findings(log)[:3] == (False, seq - 1, seq)


@pytest.mark.parametrize("column", ["payload", "event_id", "work_package", "leaf", "chain"])
def test_text_stored_as_a_blob_reads_as_the_same_text(log: Path, column: str) -> None:
    """The same bytes as a BLOB: the verifier it replaced decoded them, so does this one."""
    tamper(
        log,
        (f"UPDATE events SET {column} = CAST({column} AS BLOB) WHERE seq IN (1, 30, 31, 44)", ()),
    )
    assert assert_same_findings(log)[0] is True


def test_a_table_rebuilt_without_types_is_read_the_slow_way(log: Path) -> None:
    """Not the table the store creates (no TEXT affinity, seq not the INTEGER PRIMARY KEY):
    every row is read as bytes; an integer where text belongs is still a finding."""
    tamper(
        log,
        ("CREATE TABLE copy AS SELECT * FROM events", ()),
        ("DROP TABLE events", ()),
        (
            "CREATE TABLE events (seq, event_id, parent_seq, ts, type, work_package, principal, "
            "entry_id, payload, leaf, chain)",
            (),
        ),
        ("INSERT INTO events SELECT * FROM copy", ()),
        ("DROP TABLE copy", ()),
    )
    assert assert_same_findings(log)[0] is True
    tamper(log, ("UPDATE events SET type = 5 WHERE seq = 33", ()))
    assert assert_same_findings(log)[:3] == (False, 32, 33)


_TAMPERS = st.sampled_from(["flip", "utf8", "blob", "forge", "field", "parent", "delete", "none"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 40), seed=st.integers(0, 2**16), how=_TAMPERS, data=st.data())
def test_random_logs_and_tampers_have_the_same_findings(
    n: int, seed: int, how: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "c.db"
        build_log(db, n, seed)
        rows = rows_of(db)
        seq = data.draw(st.integers(1, n), label="seq")
        row = rows[seq]
        column = data.draw(st.sampled_from(TEXTS), label="column")
        if how in ("flip", "utf8"):
            raw = bytearray((row[column] or "x").encode())
            at = data.draw(st.integers(0, len(raw) - 1), label="at")
            raw[at] ^= 0x80 if how == "utf8" else data.draw(st.integers(1, 0x7F), label="mask")
            tamper(
                db,
                (f"UPDATE events SET {column} = CAST(? AS TEXT) WHERE seq = ?", (bytes(raw), seq)),
            )
        elif how == "blob":
            tamper(
                db, (f"UPDATE events SET {column} = CAST({column} AS BLOB) WHERE seq = ?", (seq,))
            )
        elif how == "forge":
            variants = spellings(row["payload"])
            assume(variants)
            forge_payload(db, seq, data.draw(st.sampled_from(variants), label="variant"))
        elif how == "field":
            column = data.draw(st.sampled_from(["type", "work_package", "principal", "entry_id"]))
            value = data.draw(st.sampled_from(["x", "WP-2", 7, *([None] * (column != "type"))]))
            tamper(db, (f"UPDATE events SET {column} = ? WHERE seq = ?", (value, seq)))
            rehash(db, seq)
        elif how == "parent":
            value = data.draw(st.sampled_from([None, 1, seq - 1, "1"]), label="parent")
            tamper(db, ("UPDATE events SET parent_seq = ? WHERE seq = ?", (value, seq)))
            rehash(db, seq)
        elif how == "delete":
            tamper(db, ("DELETE FROM events WHERE seq = ?", (seq,)))
        assert_same_findings(db)


# -- (c) progress, Ctrl-C and the forked process -------------------------------------------------


@pytest.mark.parametrize("split", [False, True])
def test_progress_counts_up_to_the_total(log: Path, split: bool) -> None:
    calls: list[tuple[int, int]] = []
    with Store.open(log) as store:
        report = verify_events(store.conn, lambda d, t: calls.append((d, t)), split=split, batch=7)
    assert report.ok
    assert calls[-1] == (60, 60)
    assert len(calls) >= 60 // 7 // 2
    assert all(t == 60 and 0 < d <= 60 for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_store_verify_chain_reports_progress(log: Path) -> None:
    calls: list[tuple[int, int]] = []
    with Store.open(log) as store:
        assert store.verify_chain(lambda d, t: calls.append((d, t))).ok
    assert calls[-1] == (60, 60)


def _verify_workers() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == "cockpit-verify"]


def test_ctrl_c_stops_the_walk_and_the_second_process(log: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with Store.open(log) as store, pytest.raises(KeyboardInterrupt):
        verify_events(store.conn, interrupt, split=True, batch=5)
    assert _verify_workers() == []


def test_a_finding_in_the_first_half_leaves_no_process_behind(log: Path) -> None:
    tamper(log, ("DELETE FROM events WHERE seq = 3", ()))
    children_before = {p.pid for p in multiprocessing.active_children()}
    assert fast(log, split=True, batch=5)[:3] == (False, 2, 3)
    assert _verify_workers() == []
    assert {p.pid for p in multiprocessing.active_children()} <= children_before


def test_a_chain_link_at_the_middle_that_is_not_hex(log: Path) -> None:
    """The second process starts from it and cannot: the first half names it."""
    tamper(log, ("UPDATE events SET chain = 'zz' WHERE seq = 30", ()))
    assert assert_same_findings(log)[:3] == (False, 29, 30)


def test_inside_a_transaction_the_walk_sees_what_it_wrote(log: Path) -> None:
    """Uncommitted rows are the caller's own: no second process (it could not see them)."""
    with Store.open(log) as store, store.transaction(commit=False):
        store.append(NewEvent("review_recorded", "WP-1", None, None, {"n": 1}))
        report = verify_events(store.conn, split=True)
        assert (report.ok, report.events) == (True, 61)


# -- (d) the real command, on a log long enough for two processes ---------------------------------


def _big_workspace(root: Path, n: int) -> Path:
    """A workspace whose log holds `n` events (SPEC 7 rows written straight into the file:
    building them through the API would take most of a minute)."""
    ws = init_workspace(root, tenant="demo")
    with Store.open(ws.db_path):
        pass
    rng = random.Random(3)
    previous, last_of_wp, rows = bytes(32), {}, []
    for seq in range(1, n + 1):
        wp = f"WP-{rng.randrange(n // 8)}"
        row = {
            "seq": seq,
            "event_id": f"00000000-0000-4000-8000-{seq:012d}",
            "parent_seq": last_of_wp.get(wp),
            "ts": "2026-11-21T10:00:00.000000Z",
            "type": "review_recorded",
            "work_package": wp,
            "principal": "human:owner",
            "entry_id": None,
        }
        text = canonical_json(_payload(rng, seq)).decode()
        leaf = _leaf(row, text)
        previous = hashlib.sha256(b"\x02" + previous + leaf).digest()
        rows.append((*row.values(), text, leaf.hex(), previous.hex()))
        last_of_wp[wp] = seq
    conn = sqlite3.connect(ws.db_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 11)})", rows
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ws.root


def _audit_verify(root: Path) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_WORKSPACE"}
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "audit", "verify", "--json", "--workspace", str(root)],
        capture_output=True, text=True, timeout=300, env=env, cwd=root,
    )  # fmt: skip
    assert len(proc.stderr.strip().splitlines()) <= 1, proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_workspace(tmp_path_factory.mktemp("big") / "ws", SPLIT_FROM + 2_000)


@pytest.mark.parametrize("where", ["none", "first half", "second half", "parent across"])
def test_audit_verify_on_a_long_log_walked_by_two_processes(
    big: Path, tmp_path: Path, where: str
) -> None:
    root = tmp_path / "ws"
    subprocess.run(["cp", "-a", str(big), str(root)], check=True)
    db = root / ".cockpit" / "cockpit.db"
    n = SPLIT_FROM + 2_000
    rows = rows_of(db)
    # The second process's first event of a work package whose last one is in the first half.
    across = next(s for s in range(n // 2 + 1, n) if (rows[s]["parent_seq"] or 0) > 1000)
    target = {"first half": 777, "second half": n - 999, "parent across": across}.get(where)
    if where in ("first half", "second half"):
        forge_payload(db, target, rows[target]["payload"].replace(":", ": ", 1))
    elif where == "parent across":
        tamper(db, ("UPDATE events SET parent_seq = NULL WHERE seq = ?", (target,)))
        rehash(db, target)
    expected = oracle(db)
    code, document = _audit_verify(root)
    assert (document["ok"], document["events"], document["first_bad_seq"], document["reason"]) == (
        expected[:4]
    )
    assert code == (0 if where == "none" else 1)
    if where != "none":
        assert document["first_bad_seq"] == target


def test_audit_verify_shows_progress_on_a_terminal_only(big: Path) -> None:
    """stderr a terminal: one line rewritten in place, cleared at the end; stdout as ever."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_WORKSPACE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "audit", "verify", "--json", "--workspace", str(big)],
        stdout=subprocess.PIPE, stderr=terminal, env=env, cwd=big,
    )  # fmt: skip
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    out = proc.communicate(timeout=300)[0]
    os.close(controller)
    assert proc.returncode == 0
    assert json.loads(out)["ok"] is True
    text = seen.decode()
    assert "verifying the chain:" in text and f"{SPLIT_FROM + 2_000:,} of" in text
    assert text.endswith("\r\x1b[K")
    assert "\n" not in text.replace("\r\n", "")
