"""The SQLite store (sqlite-utils, WAL): the append-only events table and the projections.

Writes happen only inside `Store.transaction()` (BEGIN IMMEDIATE), where `append` adds an
event to the chain and applies it to the projections in the same transaction, so a state
change and its event are never apart.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.store import projections, schema
from cockpit.store.audit import (
    GENESIS,
    ChainReport,
    chain_hash,
    event_bytes,
    event_id,
    leaf_of_stored,
)
from cockpit.store.canon_reads import CanonReads
from cockpit.store.canonical import (
    canonical_members,
    canonical_text,
    compose,
    compose_without,
    member_text,
    parse_back,
)
from cockpit.store.events import Clock, Event, NewEvent, format_ts, utc_now
from cockpit.store.monitor_reads import MonitorReads
from cockpit.store.rows import WorkPackageRow
from cockpit.store.schema import SCHEMA_VERSION, create_schema
from cockpit.store.verify import verify_events

if TYPE_CHECKING:  # imported when a schema is made (see Store.db): a read needs none
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
# Rows read at a time by the `iter_*` readers (replay's memory is about one batch).
EVENTS_BATCH = 256
_EVENT_COLUMNS = ", ".join(Event.__dataclass_fields__)  # the events table's, in order
_MARKS = ", ".join("?" for _ in Event.__dataclass_fields__)
_ID_TAKEN = (
    "SELECT (SELECT sha256 FROM entries WHERE id = ?), (SELECT seq FROM rejections"
    " WHERE entry_id = ? AND signed = 1 ORDER BY seq LIMIT 1)"
)
_INSERT_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({_MARKS})"


class Store(CanonReads, MonitorReads):
    """One workspace's database. Open with `Store.open(path)`; use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock = utc_now) -> None:
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        self.clock = clock
        # Signs the events appended without a signature (the runner's, SPEC 10.1); None:
        # they are stored as they come.
        self.signer: Callable[[bytes], dict[str, Any]] | None = None
        # The public key line of the signer above (the runner's): what it signed is known
        # by it (SPEC 10.2: evidence a driver measured is signed with the runner key).
        self.signer_public: str | None = None
        # The chain's head (seq, link) as the open transaction left it: known after each
        # append, forgotten whenever a transaction or a savepoint ends.
        self._head: tuple[int, bytes] | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this connection, for making the schema (imported when used)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    @classmethod
    def open(cls, path: Path, clock: Clock = utc_now) -> Store:
        """Open (creating if needed) the store at `path` in WAL mode with a busy timeout."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before the runner moves the entry's file to done/, so a
        # power loss cannot leave an entry in done/ that the store has lost.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # A savepoint (an entry of a batch planned with care) and a statement firing a
        # trigger keep a journal of the pages they change: temporary, kept in memory it
        # costs no write (a file would cost a write per page).
        conn.execute("PRAGMA temp_store = MEMORY")
        store = cls(conn, clock)
        store._ensure_schema()
        return store

    @classmethod
    def open_readonly(cls, path: Path, clock: Clock = utc_now) -> Store:
        """Open an existing store for reading only: nothing is created or changed (for
        `--readonly`). Raises FileNotFoundError if there is no store yet."""
        if not path.is_file():
            raise FileNotFoundError(2, "no store yet (nothing has been ingested)", str(path))
        conn = sqlite3.connect(
            f"file:{path}?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            conn.close()
            older = version < SCHEMA_VERSION
            raise sqlite3.DatabaseError(
                f"it has store schema {version} and this Cockpit reads {SCHEMA_VERSION}: "
                + (
                    "open it once without --readonly (or run `cockpit run --once`) to upgrade it"
                    if older
                    else "upgrade Cockpit"
                )
            )
        return cls(conn, clock)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            if schema.board_schema_missing(self.conn):  # made before the board's indexes
                with self.transaction():
                    schema.create_board_schema(self.db)
            return
        if version > SCHEMA_VERSION:  # never let an older Cockpit rewrite a newer store
            raise sqlite3.DatabaseError(
                f"it was written by a newer Cockpit (store schema {version}; this one knows "
                f"{SCHEMA_VERSION}): upgrade Cockpit"
            )
        with self.transaction():
            if self.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
            create_schema(self.db)
            if version:  # an earlier schema: derive every projection again from the events
                projections.rebuild(self.db, self.iter_events())
            # The board's indexes once, on the projections as they now are.
            schema.create_board_schema(self.db)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, commit: bool = True, booking: bool = False) -> Iterator[Store]:
        """A write transaction (BEGIN IMMEDIATE). With commit=False it always rolls back:
        a dry run sees its own writes and leaves the database as it was. `booking`: a
        sweep's, which may book WPs (see schema.retire_insert_count)."""
        self.conn.execute("BEGIN IMMEDIATE")
        self._head = None
        try:
            if booking:
                schema.retire_insert_count(self.conn)
            yield self
        except BaseException:
            self._head = None
            if self.conn.in_transaction:  # SQLite may have rolled it back itself (SQLITE_FULL)
                self.conn.execute("ROLLBACK")
            raise
        self._head = None
        if commit:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")

    def savepoint(self, name: str = "part") -> _Savepoint:
        """A part of the open transaction that is undone alone if it raises (SAVEPOINT):
        one entry of a sweep's batch planned with care (see Sweeper._plan). Must be used
        inside `transaction()`."""
        if not self.conn.in_transaction:
            raise RuntimeError("a savepoint is taken inside Store.transaction() only")
        return _Savepoint(self, name)

    def append(self, new: NewEvent) -> Event:
        """Append one event to the chain and apply it to the projections.

        Must be called inside `transaction()`; raises RuntimeError otherwise.
        """
        if not self.conn.in_transaction:
            raise RuntimeError("events are appended inside Store.transaction() only")
        if self._head is None:
            last = self.conn.execute(
                "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            self._head = (last[0], bytes.fromhex(last[1])) if last else (0, GENESIS)
        seq, previous = self._head[0] + 1, self._head[1]
        parent_seq = None
        if new.work_package is not None:
            parent_seq = self.conn.execute(
                "SELECT max(seq) FROM events WHERE work_package = ?", (new.work_package,)
            ).fetchone()[0]
        # The payload's members are serialised once; its text without the signature (what
        # the event id is derived from) and with it are composed from them (SPEC 7).
        payload = new.payload
        members = canonical_members(payload)
        if members is None:  # a key that is not a string: json.dumps rewrites it
            members = canonical_members(json.loads(canonical_text(payload)[0]))
            assert members is not None
        unsigned_text, signed_text = compose_without(members, "signature")
        row: dict[str, Any] = {
            "seq": seq,
            "event_id": event_id(previous, seq, unsigned_text),
            "parent_seq": parent_seq,
            "ts": format_ts(self.clock()),
            "type": str(new.type),
            "work_package": new.work_package,
            "principal": new.principal,
            "entry_id": new.entry_id,
        }
        signed = payload
        if "signature" not in payload and self.signer is not None:
            # An event nobody signed is the runner's own: signed over the event as it will
            # be stored, less its signature (SPEC 10.1).
            signature = self.signer(event_bytes(row, unsigned_text))
            if signature is not None:
                members["signature"] = member_text(signature)
                signed, signed_text = {**payload, "signature": signature}, compose(members)
        payload_text = signed_text
        stored = parse_back(payload_text, signed)  # a float is refused here, before any write
        # The leaf is composed around the payload's canonical text (SPEC 7's leaf).
        leaf = leaf_of_stored(row, payload_text)
        link = chain_hash(previous, leaf)
        leaf_hex, link_hex = leaf.hex(), link.hex()
        self.conn.execute(_INSERT_EVENT, (*row.values(), payload_text, leaf_hex, link_hex))
        self._head = (seq, link)
        event = Event(**row, payload=stored, leaf=leaf_hex, chain=link_hex)
        projections.apply(self.conn, event)
        return event

    # -- reads ---------------------------------------------------------------------------

    def events(
        self, work_package: str | None = None, since_seq: int = 0, until_seq: int | None = None
    ) -> list[Event]:
        """Events in seq order: of one work package, after `since_seq`, up to `until_seq`."""
        return list(self.iter_events(work_package, since_seq, until_seq))

    def iter_events(
        self,
        work_package: str | None = None,
        since_seq: int = 0,
        until_seq: int | None = None,
        *,
        batch: int = EVENTS_BATCH,
    ) -> Generator[Event, None, None]:
        """`events()` one at a time, read from one statement (one snapshot, even while a
        writer appends) `batch` rows at a time: memory holds one batch whatever the size
        of the log. Closing the generator ends the statement."""
        args: list[Any] = [since_seq]
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ?"
        if until_seq is not None:
            sql, args = sql + " AND seq <= ?", [*args, until_seq]
        if work_package is not None:
            sql, args = sql + " AND work_package = ?", [*args, work_package]
        for seq, eid, parent, ts, kind, wp, who, entry, text, leaf, chain in self._rows(
            sql + " ORDER BY seq", args, batch
        ):
            yield Event(seq, eid, parent, ts, kind, wp, who, entry, json.loads(text), leaf, chain)

    def _rows(self, sql: str, args: list[Any], batch: int) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql` as plain tuples, fetched `batch` at a time (one batch held)."""
        if batch < 1:
            raise ValueError("a batch holds at least one row")
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            cursor.execute(sql, args)
            while rows := cursor.fetchmany(batch):
                yield from rows
                del rows  # the next batch is read with this one let go
        finally:
            cursor.close()

    def find_events(
        self,
        *,
        types: tuple[str, ...] = (),
        principal: str | None = None,
        work_package: str | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        """The newest `limit` events matching the filters, in seq order."""
        clauses, args = [], []
        if types:
            clauses.append(f"type IN ({', '.join('?' for _ in types)})")
            args += list(types)
        if principal:
            clauses.append("principal = ?")
            args.append(principal)
        if work_package:
            clauses.append("work_package = ?")
            args.append(work_package)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        rows = self.conn.execute(
            f"SELECT * FROM (SELECT * FROM events{where} ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            [*args, limit],
        ).fetchall()
        return [Event.from_row(dict(r)) for r in rows]

    def head_seq(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def verify_chain(self, progress: Callable[[int, int], None] | None = None) -> ChainReport:
        """Recompute the whole chain from the stored rows (see audit.verify_chain and
        store.verify); `progress(done, total)` is called every few thousand rows and with
        (total, total) when the whole chain was walked.

        A stored text that is not UTF-8 is reported at its seq instead of failing the
        read."""
        return verify_events(self.conn, progress)

    def work_package(self, wp_id: str) -> WorkPackageRow | None:
        row = self.conn.execute("SELECT * FROM work_packages WHERE id = ?", (wp_id,)).fetchone()
        return projections.decode_work_package(dict(row)) if row else None

    def work_package_state(self, wp_id: str) -> str | None:
        row = self.conn.execute("SELECT state FROM work_packages WHERE id = ?", (wp_id,)).fetchone()
        return row[0] if row else None

    def work_package_ids(self, state: str | None = None) -> list[str]:
        sql = "SELECT id FROM work_packages" + (" WHERE state = ?" if state else "")
        return [r[0] for r in self.conn.execute(sql + " ORDER BY id", (state,) if state else ())]

    def work_packages(self) -> list[WorkPackageRow]:
        rows = self.conn.execute("SELECT * FROM work_packages ORDER BY id").fetchall()
        return [projections.decode_work_package(dict(r)) for r in rows]

    def iter_work_packages(
        self, columns: tuple[str, ...], *, batch: int = EVENTS_BATCH
    ) -> Iterator[dict[str, Any]]:
        """The work packages by id, only `columns` of each, decoded as `work_packages()` does,
        `batch` rows at a time. Raises ValueError for a column that is not a plain name."""
        if not columns or not all(column.isidentifier() for column in columns):
            raise ValueError(f"not columns of work_packages: {columns!r}")
        decode = projections.work_package_decoder(list(columns))
        sql = f"SELECT {', '.join(columns)} FROM work_packages ORDER BY id"
        return map(decode, self._rows(sql, [], batch))

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return projections.decode_entry(dict(row)) if row else None

    def entries(
        self, work_package: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM entries WHERE 1=1"
        args: list[Any] = []
        if work_package is not None:
            sql += " AND work_package = ?"
            args.append(work_package)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self.conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [projections.decode_entry(dict(r)) for r in rows]

    def edges(self, work_package: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT from_id, to_id, rel, seq FROM edges"
        args: list[Any] = []
        if work_package is not None:
            sql += " WHERE work_package = ?"
            args.append(work_package)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY seq, from_id, to_id", args)]

    def rejection_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM rejections").fetchone()[0])

    def rejections(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM rejections ORDER BY seq").fetchall()
        return [dict(r) for r in rows]

    def id_taken(self, entry_id: str) -> tuple[str | None, int | None]:
        """(the sha256 of the entry ingested with this id, the seq of the first signed
        rejection of one): what ingest asks of every entry, in one read."""
        row = self.conn.execute(_ID_TAKEN, (entry_id, entry_id)).fetchone()
        return row[0], row[1]

    def rejection_for(self, original_file: str, sha256: str) -> dict[str, Any] | None:
        """The recorded rejection of this queue file (by name and hash), if any."""
        row = self.conn.execute(
            "SELECT * FROM rejections WHERE original_file = ? AND sha256 = ? ORDER BY seq DESC",
            (original_file, sha256),
        ).fetchone()
        return dict(row) if row else None


class _Savepoint:
    """`Store.savepoint()` (a class, not a generator: a careful sweep takes one per entry)."""

    __slots__ = ("_name", "_store")

    def __init__(self, store: Store, name: str) -> None:
        self._store, self._name = store, name

    def __enter__(self) -> Store:
        self._store.conn.execute(f"SAVEPOINT {self._name}")
        return self._store

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        conn = self._store.conn
        if kind is None:
            conn.execute(f"RELEASE {self._name}")
            return
        self._store._head = None
        if conn.in_transaction:  # SQLite may have rolled the whole one back
            conn.execute(f"ROLLBACK TO {self._name}")
            conn.execute(f"RELEASE {self._name}")
