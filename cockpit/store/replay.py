"""Replay: rebuild every projection from the events alone in a scratch database and
compare digests with the live projections (SPEC 7).

Memory stays about one batch of events whatever the size of the log: the events are read
as a stream (`Store.iter_events`) and let go once applied, the scratch SQLite file keeps a
bounded page cache and no journal, and the digests hash rows as they are read.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from cockpit.store import projections, schema
from cockpit.store.db import EVENTS_BATCH, Store
from cockpit.store.events import Event
from cockpit.store.verify import database_file

_KEYS = {
    "work_packages": "id",
    "entries": "id",
    "edges": "from_id, to_id, rel",
    "rejections": "seq",
    "candidates": "id",
    "canon": "id",
}

# The scratch database's page cache (KiB): past it, pages go to the file, not to memory.
SCRATCH_CACHE_KIB = 16 * 1024
SCRATCH_PAGE_SIZE = 4096
# WPs whose state replay's re-check keeps in memory; the others wait in a scratch table.
STATES_IN_MEMORY = 50_000  # about 5 MB
_DIGEST_BATCH = 256  # rows hashed at a time
HELPER_TIMEOUT_S = 3600  # past it, the live digest is worked out in-process
# From this many events on, a helper process works out the live digest beside replay (it
# takes about as long as starting the helper at some 10,000 events).
PARALLEL_FROM = 20_000


def projection_digest(conn: sqlite3.Connection) -> str:
    """SHA-256 over every projection table's rows in key order, each row the canonical
    JSON of `{column: value}` (`json.dumps(row, sort_keys=True, separators=(",", ":"))`)
    and a newline. Rows are hashed as they are read.

    SQLite writes each row's JSON itself where that gives the very same bytes (an ASCII
    row of text, integers and NULLs, when this SQLite escapes as Python does); any other
    row is written by json.dumps, so the digest never depends on the SQLite version."""
    digest = hashlib.sha256()
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        for table in schema.PROJECTION_TABLES:
            digest.update(table.encode() + b"\x00")
            names = [d[0] for d in cursor.execute(f"SELECT * FROM {table} LIMIT 0").description]
            if _sqlite_writes_json_as_python():
                rows = _rows_json_by_sqlite(conn, table, names)
            else:
                rows = _rows_json(conn, table, names)
            while lines := list(itertools.islice(rows, _DIGEST_BATCH)):
                digest.update(b"".join(lines))
    finally:
        cursor.close()
    return digest.hexdigest()


def _row_line(names: list[str], row: tuple[Any, ...]) -> bytes:
    """One row's line of the digest: its canonical JSON and a newline."""
    record = dict(zip(names, row, strict=True))
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _rows_json(conn: sqlite3.Connection, table: str, names: list[str]) -> Iterator[bytes]:
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        for row in cursor.execute(f"SELECT * FROM {table} ORDER BY {_KEYS[table]}"):
            yield _row_line(names, row)
    finally:
        cursor.close()


def _rows_json_by_sqlite(conn: sqlite3.Connection, table: str, names: list[str]) -> Iterator[bytes]:
    """Each row's line as `_row_line` writes it, built by SQLite (json_object over the
    sorted columns, handed over as bytes) and taken as it is when it is ASCII without DEL
    (where SQLite and Python escape alike). A row holding a REAL or a BLOB, or any other
    row, is written by Python."""
    pairs, odd = [], []
    for name in sorted(names):
        column = '"' + name.replace('"', '""') + '"'
        pairs.append("'" + name.replace("'", "''") + "', " + column)
        odd.append(f"typeof({column}) IN ('real', 'blob')")
    line = (
        f"CASE WHEN {' OR '.join(odd)} THEN NULL "
        f"ELSE CAST(json_object({', '.join(pairs)}) || char(10) AS BLOB) END"
    )
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        cursor.execute(f"SELECT rowid, {line} FROM {table} ORDER BY {_KEYS[table]}")
        for rowid, text in cursor:
            if text is None or not text.isascii() or b"\x7f" in text:
                row = conn.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,))
                text = _row_line(names, tuple(row.fetchone()))
            yield text
    finally:
        cursor.close()


@functools.cache
def _sqlite_writes_json_as_python() -> bool:
    """Whether this SQLite's json_object writes keys, every ASCII character but DEL,
    integers and NULL exactly as Python's json does (with separators "," and ":")."""
    values = ("".join(chr(i) for i in range(0x7F)), 0, -(2**63), 2**63 - 1, None)
    keys = [f"k{i}" for i in range(len(values))]
    conn = sqlite3.connect(":memory:")
    try:
        sql = "SELECT json_object(" + ", ".join(f"'{k}', ?" for k in keys) + ")"
        (written,) = conn.execute(sql, values).fetchone()
    except sqlite3.Error:  # built without JSON
        return False
    finally:
        conn.close()
    return bool(written == json.dumps(dict(zip(keys, values, strict=True)), separators=(",", ":")))


def replay(
    store: Store,
    observe: Callable[[Event], None] | None = None,
    *,
    batch: int = EVENTS_BATCH,
    parallel: bool | None = None,
) -> dict[str, Any]:
    """Rebuild projections from `store`'s events in a scratch SQLite file; return
    `{match, live_digest, replay_digest, events}`, plus `failed_seq` and `failure` when an
    event cannot be applied (replay stops there).

    The events are read `batch` at a time, and the live projections and the events in
    one read transaction (the same moment of the log). `observe` sees each event before
    it is applied (replay's re-check rides along this way: one reading of the log). With
    `parallel` (by default, for a log of PARALLEL_FROM events or more) the live digest is
    worked out by a helper process meanwhile."""
    failed: tuple[int, str] | None = None
    count = 0
    with (
        _snapshot(store.conn) as head,
        _LiveDigest(store.conn, parallel=_parallel(parallel, head)) as live,
        _scratch_database() as conn,
    ):
        schema.create_tables(sqlite_utils.Database(conn))
        for (index,) in conn.execute(  # lookups only: replay reads nothing by them
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE %'"
        ).fetchall():
            conn.execute(f'DROP INDEX "{index}"')
        conn.execute("BEGIN")
        events = store.iter_events(batch=batch)
        try:
            for event in events:
                count += 1
                if observe is not None:
                    observe(event)
                try:
                    projections.apply(conn, event)
                except (KeyError, TypeError, ValueError, sqlite3.Error) as exc:
                    # A row ingest never wrote (a forged one) cannot be replayed: say where.
                    failed = (event.seq, f"{type(exc).__name__}: {exc}")
                    break
        finally:
            events.close()
        if failed is not None:  # the events after it count too
            count = int(store.conn.execute("SELECT count(*) FROM events").fetchone()[0])
        conn.execute("COMMIT")
        rebuilt = projection_digest(conn)
        live_digest = live.digest(head)
    document: dict[str, Any] = {
        "match": live_digest == rebuilt and failed is None,
        "live_digest": live_digest,
        "replay_digest": rebuilt,
        "events": count,
    }
    if failed is not None:
        document["failed_seq"], document["failure"] = failed
    return document


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...] | None]:
    """A read transaction on the live store (unless one is open), giving the log's head
    in it: its projections and its events are read as of one moment even while the
    runner appends."""
    if conn.in_transaction:
        yield _head(conn)
        return
    conn.execute("BEGIN")
    try:
        yield _head(conn)
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _parallel(asked: bool | None, head: tuple[Any, ...] | None) -> bool:
    """Whether a helper works out the live digest: as asked, else if the log is long
    enough for that to pay for starting the helper."""
    if asked is not None:
        return asked
    return head is not None and int(head[0]) >= PARALLEL_FROM


def _head(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    row = conn.execute("SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else tuple(row)


class _LiveDigest:
    """The live projections' digest. With `parallel` a helper process works it out on
    its own read-only connection while replay applies the events (the second core does
    it); its digest is taken only if it read the log at replay's own head. Otherwise (a
    write came between, the helper failed, or no file to open) it is worked out on the
    store's connection, inside replay's read transaction."""

    def __init__(self, conn: sqlite3.Connection, *, parallel: bool) -> None:
        self.conn = conn
        self.helper: subprocess.Popen[bytes] | None = None
        self.found: dict[str, Any] | None = None
        database = database_file(conn)
        if parallel and database:
            package_root = str(Path(__file__).resolve().parents[2])
            path = os.environ.get("PYTHONPATH")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
            try:
                self.helper = subprocess.Popen(
                    [sys.executable, "-c", _HELPER, database],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            except OSError:
                self.helper = None

    def __enter__(self) -> _LiveDigest:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.helper is not None and self.helper.poll() is None:
            self.helper.kill()
            self.helper.wait()

    def digest(self, head: tuple[Any, ...] | None) -> str:
        found = self.helper_found()
        if found is not None and found.get("head") == (list(head) if head else None):
            return str(found["digest"])
        return projection_digest(self.conn)

    def helper_found(self) -> dict[str, Any] | None:
        """What the helper printed (`{head, digest}`), once it is done; None if there
        was no helper or it failed."""
        if self.helper is None or self.found is not None:
            return self.found
        try:
            out, _err = self.helper.communicate(timeout=HELPER_TIMEOUT_S)
            found = json.loads(out) if self.helper.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError):  # __exit__ stops a helper that hangs
            found = None
        if isinstance(found, dict) and isinstance(found.get("digest"), str):
            self.found = found
        else:
            self.helper = None  # not asked again
        return self.found


# What the helper process runs: the digest of the store at argv[1], and the head it read.
_HELPER = "import sys; from cockpit.store.replay import _digest_file; _digest_file(sys.argv[1])"


def _digest_file(path: str) -> None:
    """Print `{head, digest}` of the store file at `path`, read in one read transaction
    on a read-only connection (the helper process's work)."""
    conn = sqlite3.connect(
        Path(path).as_uri() + "?mode=ro", uri=True, isolation_level=None, timeout=10
    )
    try:
        conn.execute("BEGIN")
        head = _head(conn)
        digest = projection_digest(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    print(json.dumps({"head": list(head) if head else None, "digest": digest}))


@contextmanager
def _scratch_database(cache_kib: int = SCRATCH_CACHE_KIB) -> Iterator[sqlite3.Connection]:
    """A throwaway SQLite file: no journal, no syncs (nothing in it outlives replay), and
    a bounded page cache so memory does not grow with the log."""
    with tempfile.TemporaryDirectory(prefix="cockpit-replay-") as scratch:
        conn = sqlite3.connect(str(Path(scratch) / "replay.db"), isolation_level=None)
        try:
            conn.execute(f"PRAGMA page_size = {SCRATCH_PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute(f"PRAGMA cache_size = -{cache_kib}")
            yield conn
        finally:
            conn.close()


class WorkPackageStates:
    """The state each WP is in, as replay's re-check follows the log (`get`, and `[wp] =`
    a state's value or None): the `limit` WPs set most recently in memory, the others in
    a table of a scratch SQLite file, so memory stays bounded whatever the number of WPs."""

    def __init__(self, conn: sqlite3.Connection, limit: int = STATES_IN_MEMORY) -> None:
        self.conn = conn
        self.limit = max(limit, 1)
        self.recent: dict[str, str | None] = {}
        self.spilled = False
        conn.execute("CREATE TABLE states (wp TEXT PRIMARY KEY, state TEXT) WITHOUT ROWID")

    def get(self, wp: str, /) -> str | None:
        if wp in self.recent:
            return self.recent[wp]
        if not self.spilled:
            return None
        row = self.conn.execute("SELECT state FROM states WHERE wp = ?", (wp,)).fetchone()
        return None if row is None else row[0]

    def __setitem__(self, wp: str, state: str | None, /) -> None:
        recent = self.recent
        recent.pop(wp, None)  # the most recently set come last
        recent[wp] = None if state is None else str(state)
        if len(recent) > self.limit:
            older = list(itertools.islice(recent.items(), len(recent) // 2 or 1))
            self.conn.executemany("INSERT OR REPLACE INTO states VALUES (?, ?)", older)
            for key, _state in older:
                del recent[key]
            self.spilled = True


@contextmanager
def work_package_states(limit: int = STATES_IN_MEMORY) -> Iterator[WorkPackageStates]:
    """A `WorkPackageStates` over its own scratch file, removed afterwards."""
    with _scratch_database(cache_kib=2048) as conn:
        yield WorkPackageStates(conn, limit)


__all__ = [
    "Event",
    "WorkPackageStates",
    "projection_digest",
    "replay",
    "work_package_states",
]
