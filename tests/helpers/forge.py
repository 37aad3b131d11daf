"""Rows written straight into a workspace's database, every hash computed as SPEC 7 says:
what someone with write access to the file but no key can do (the attacks of issue 11)."""

from __future__ import annotations

import sqlite3
from typing import Any

from cockpit.store import canonical_json
from cockpit.store.audit import chain_hash, event_id, event_object, leaf_hash
from helpers.workspace import Env


def forge_row(
    env: Env,
    event_type: str,
    wp: str,
    principal: str,
    payload: dict[str, Any],
    entry_id: str | None = None,
) -> int:
    """Append one event row that chains correctly; returns its seq."""
    conn = sqlite3.connect(env.root / ".cockpit" / "cockpit.db")
    try:
        seq, chain = conn.execute("SELECT seq, chain FROM events ORDER BY seq DESC").fetchone()
        parent = conn.execute("SELECT max(seq) FROM events WHERE work_package = ?", (wp,))
        row = {
            "seq": seq + 1,
            "event_id": event_id(bytes.fromhex(chain), seq + 1, canonical_json(payload).decode()),
            "parent_seq": parent.fetchone()[0],
            "ts": "2026-12-04T10:00:00.000000Z",
            "type": event_type,
            "work_package": wp,
            "principal": principal,
            "entry_id": entry_id,
        }
        leaf = leaf_hash(event_object(row, payload))
        row.update(
            payload=canonical_json(payload).decode(),
            leaf=leaf.hex(),
            chain=chain_hash(bytes.fromhex(chain), leaf).hex(),
        )
        conn.execute(
            f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row.values()),
        )
        conn.commit()
        return int(seq + 1)
    finally:
        conn.close()
