"""Replay: rebuild every projection from the events alone in a scratch database and
compare digests with the live projections (SPEC 7)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import sqlite_utils

from cockpit.store import projections, schema
from cockpit.store.db import Store
from cockpit.store.events import Event

_KEYS = {
    "work_packages": "id",
    "entries": "id",
    "edges": "from_id, to_id, rel",
    "rejections": "seq",
    "candidates": "id",
    "canon": "id",
}


def projection_digest(conn: sqlite3.Connection) -> str:
    """SHA-256 over every projection table's rows in key order (canonical JSON)."""
    digest = hashlib.sha256()
    for table in schema.PROJECTION_TABLES:
        digest.update(table.encode() + b"\x00")
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {_KEYS[table]}")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            record = dict(zip(names, tuple(row), strict=True))
            digest.update(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def replay(store: Store) -> dict[str, Any]:
    """Rebuild projections from `store`'s events in a scratch SQLite file; return
    `{match, live_digest, replay_digest, events}`."""
    events = store.events()
    live = projection_digest(store.conn)
    failed: tuple[int, str] | None = None
    with tempfile.TemporaryDirectory(prefix="cockpit-replay-") as scratch:
        conn = sqlite3.connect(str(Path(scratch) / "replay.db"), isolation_level=None)
        try:
            schema.create_tables(sqlite_utils.Database(conn))
            conn.execute("BEGIN")
            for event in events:
                try:
                    projections.apply(conn, event)
                except (KeyError, TypeError, ValueError, sqlite3.Error) as exc:
                    # A row ingest never wrote (a forged one) cannot be replayed: say where.
                    failed = (event.seq, f"{type(exc).__name__}: {exc}")
                    break
            conn.execute("COMMIT")
            rebuilt = projection_digest(conn)
        finally:
            conn.close()
    document: dict[str, Any] = {
        "match": live == rebuilt and failed is None,
        "live_digest": live,
        "replay_digest": rebuilt,
        "events": len(events),
    }
    if failed is not None:
        document["failed_seq"], document["failure"] = failed
    return document


__all__ = ["Event", "projection_digest", "replay"]
