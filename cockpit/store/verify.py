"""Verifying a store's audit chain (`Store.verify_chain`): rows read in large batches as
plain tuples and walked by `audit.ChainWalk`; on a big log, the second half walked at the
same time by a forked process, which starts from the chain link stored before its half.

The report is the one a single walk from the first row gives: a walk stops at its first
bad row, the first half's finding comes first, and what the second half cannot check
alone (the parent_seq of a work package's first event in it) is checked against the first
half's state before the second half's own finding counts.
"""

from __future__ import annotations

import signal
import sqlite3
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.store.audit import ROW_COLUMNS, TEXT_COLUMNS, ChainReport, ChainWalk

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

Progress = Callable[[int, int], None]
Batches = Generator[list[tuple[Any, ...]], None, None]

# Rows read at a time (progress is reported after each batch).
BATCH = 2_000
# From this many events a second process walks the second half; below, starting it costs
# about what it saves.
SPLIT_FROM = 20_000

_COLUMNS = ", ".join(ROW_COLUMNS)
# The same row with every text column as the bytes stored (SQLite decodes nothing).
_COLUMNS_AS_BYTES = ", ".join(
    f"CAST({c} AS BLOB) AS {c}" if c in TEXT_COLUMNS else c for c in ROW_COLUMNS
)


class _Counter(Protocol):  # a ctypes integer shared with the forked process
    value: int


def verify_events(
    conn: sqlite3.Connection,
    progress: Progress | None = None,
    *,
    split: bool | None = None,
    batch: int = BATCH,
) -> ChainReport:
    """Walk the whole chain of the store on `conn` (see audit.verify_chain): `progress(done,
    total)` is called after every batch of `batch` rows, and with (total, total) once the
    walk reached the end. `split` forces (True) or forbids (False) the second process; by
    default it walks from SPLIT_FROM events, on Linux, in a process with no other thread
    (where fork is safe). Never inside a transaction: it sees committed rows only."""
    head = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    total = head if type(head) is int else 0  # for progress (a table rebuilt by hand: any)
    walk = ChainWalk(decode=True)
    if not _plain_schema(conn):  # a table rebuilt by hand: read it as SQLite can, as bytes
        return _walk_to_end(walk, _batches_as_bytes(conn, batch, None), progress, total)
    path = database_file(conn)
    if split is None:
        split = total >= SPLIT_FROM and _forkable()
    if split and path is not None and not conn.in_transaction and total > 1:
        return _verify_split(conn, path, total, progress, batch)
    return _walk_to_end(walk, _batches(conn, batch, None), progress, total)


def _walk_to_end(
    walk: ChainWalk, batches: Batches, progress: Progress | None, total: int
) -> ChainReport:
    if _walk_batches(walk, batches, progress, total) and progress is not None:
        progress(total, total)
    return walk.report()


def _walk_batches(
    walk: ChainWalk,
    batches: Batches,
    progress: Progress | None,
    total: int,
    elsewhere: Callable[[], int] = lambda: 0,
) -> bool:
    """Feed `batches` to `walk`; False once it found a bad row. `elsewhere()` is how many
    rows another process has verified meanwhile (for progress)."""
    try:
        for rows in batches:
            if not walk.walk(rows):
                return False
            if progress is not None:
                progress(walk.count + elsewhere(), total)
        return True
    finally:
        batches.close()


def _batches(
    conn: sqlite3.Connection, size: int, after: int | None, upto: int | None = None
) -> Batches:
    """The rows with `after` < seq <= `upto` (None: unbounded) in seq order, `size` at a
    time, as plain tuples. A stored text that is not UTF-8 makes SQLite fail to read its
    whole batch: from that batch on, text columns are read as the bytes stored, which the
    walk decodes row by row, so the bad byte is reported at its own seq."""
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        try:
            cursor.execute(f"SELECT {_COLUMNS} FROM events {_where(after, upto)}", ())
            while rows := cursor.fetchmany(size):
                yield rows
                after = rows[-1][0]
            return
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):  # "Could not decode to UTF-8 column ..."
                raise
    finally:
        cursor.close()
    yield from _batches_as_bytes(conn, size, after, upto)


def _batches_as_bytes(
    conn: sqlite3.Connection, size: int, after: int | None, upto: int | None = None
) -> Batches:
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        cursor.execute(f"SELECT {_COLUMNS_AS_BYTES} FROM events {_where(after, upto)}", ())
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def _where(after: int | None, upto: int | None) -> str:
    bounds = [f"seq > {int(after)}"] if after is not None else []
    if upto is not None:
        bounds.append(f"seq <= {int(upto)}")
    return ("WHERE " + " AND ".join(bounds) if bounds else "") + " ORDER BY seq"


def _plain_schema(conn: sqlite3.Connection) -> bool:
    """Whether `events` is the table the store creates, as far as the fast read relies on
    it: seq its INTEGER PRIMARY KEY (unique integers, so a range of seqs is a range of
    rows) and every text column declared TEXT (so it holds text, a BLOB or NULL)."""
    table = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'"
    ).fetchone()
    if table is None or "WITHOUT" in str(table[0]).upper():
        return False
    columns = {r[1]: (str(r[2]).upper(), r[5]) for r in conn.execute("PRAGMA table_info(events)")}
    keys = [name for name, (_, pk) in columns.items() if pk]
    return (
        keys == ["seq"]
        and columns["seq"][0] == "INTEGER"
        and "parent_seq" in columns
        and all(columns.get(c, ("", 0))[0] == "TEXT" for c in TEXT_COLUMNS)
    )


def database_file(conn: sqlite3.Connection) -> str | None:
    """The file of the connection's main database (None: in memory)."""
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2]) or None
    return None


def _forkable() -> bool:
    import threading

    return sys.platform.startswith("linux") and threading.active_count() == 1


# -- two processes ---------------------------------------------------------------------------


def _verify_split(
    conn: sqlite3.Connection, path: str, total: int, progress: Progress | None, size: int
) -> ChainReport:
    """Walk seqs up to total//2 here while a forked process walks the rest; if this half
    does not end where the other begins, or the other process fails, walk on here."""
    import multiprocessing

    walk = ChainWalk(decode=True)
    if multiprocessing.current_process().daemon:  # a daemonic process may not start one
        return _walk_to_end(walk, _batches(conn, size, None), progress, total)
    context = multiprocessing.get_context("fork")
    middle = total // 2
    receiver, sender = context.Pipe(duplex=False)
    done_there = context.Value("q", 0, lock=False)
    worker = context.Process(
        target=_walk_second_half,
        args=(path, middle, size, sender, done_there),
        name="cockpit-verify",
        daemon=True,
    )
    worker.start()
    sender.close()
    try:
        first_half = _batches(conn, size, None, middle)
        if not _walk_batches(walk, first_half, progress, total, lambda: done_there.value):
            return walk.report()
        if walk.count == middle:
            second = _second_half(receiver, progress, middle, total, done_there)
            if second is not None:
                return _joined(walk, second, progress, total)
        # This half ended short of the middle (a gap), or the other process failed.
        return _walk_to_end(walk, _batches(conn, size, walk.count), progress, total)
    finally:
        if worker.is_alive():  # stopped before its pipe is closed (no broken pipe to report)
            worker.terminate()
            worker.join(5)
            if worker.is_alive():
                worker.kill()
        worker.join()
        worker.close()
        receiver.close()


def _second_half(
    receiver: Connection, progress: Progress | None, done_here: int, total: int, done: _Counter
) -> tuple[Any, ...] | None:
    """The second process's walk, once it ends (None if it failed)."""
    while not receiver.poll(0.05):  # also True once that process is gone
        if progress is not None:
            progress(done_here + done.value, total)
    try:
        kind, state = receiver.recv()
    except (EOFError, OSError):
        return None
    return state if kind == "walked" else None


def _joined(
    first: ChainWalk, second: tuple[Any, ...], progress: Progress | None, total: int
) -> ChainReport:
    count, finding, head, deferred = second
    for seq, wp, parent in deferred:  # in seq order, all before the second half's finding
        problem = first.parent_problem(wp, parent)
        if problem is not None:
            return ChainReport(False, seq - 1, seq, problem)
    if finding is not None:
        return ChainReport(False, count, *finding)
    if progress is not None:
        progress(total, total)
    return ChainReport(True, count, None, None, head)


def _walk_second_half(path: str, after: int, size: int, sender: Connection, done: _Counter) -> None:
    """In the forked process: walk the rows after seq `after` on a connection of its own,
    from the chain link stored at `after`, and send back (count, finding, head, deferred
    parent checks), or why it could not."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the first process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and it ends this one with SIGTERM
    message: tuple[str, Any]
    try:
        conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            stored = conn.execute("SELECT chain FROM events WHERE seq = ?", (after,)).fetchone()
            link = stored[0]
            previous = bytes.fromhex(link.decode() if isinstance(link, bytes) else link)
            walk = ChainWalk(count=after, previous=previous, decode=True, defer_parents=True)
            batches = _batches(conn, size, after)
            try:
                for rows in batches:
                    if not walk.walk(rows):
                        break
                    done.value = walk.count - after
            finally:
                batches.close()
        finally:
            conn.close()
        message = ("walked", (walk.count, walk.finding, walk.previous.hex(), walk.deferred))
    except Exception as exc:  # the first process walks on itself
        message = ("failed", repr(exc))
    try:
        sender.send(message)
        sender.close()
    except OSError:  # the first process no longer listens: it has its answer
        pass
