"""The store's reads of canon candidates and canon records (a part of `Store`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from cockpit.store import projections


class CanonReads:
    """Candidates and canon records as the projections hold them."""

    conn: sqlite3.Connection

    def candidates(self, state: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM candidates", []
        if state is not None:
            sql, args = sql + " WHERE state = ?", [state]
        rows = self.conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [projections.decode_candidate(dict(r)) for r in rows]

    def candidate(self, candidate_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
        return projections.decode_candidate(dict(row)) if row else None

    def canon_record(self, canon_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM canon WHERE id = ?", (canon_id,)).fetchone()
        return projections.decode_canon(dict(row)) if row else None

    def canon_with_sha(self, record_sha256: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM canon WHERE record_sha256 = ? ORDER BY seq LIMIT 1", (record_sha256,)
        ).fetchone()
        return projections.decode_canon(dict(row)) if row else None

    def canon_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM canon").fetchone()[0])

    def canon_search(self, match: str | None, limit: int = 50) -> list[dict[str, Any]]:
        """Canon records: all, newest first, or those an FTS5 `match` expression finds,
        best first (bm25). The caller builds `match` (see engine.canon.fts_query)."""
        if not match:
            rows = self.conn.execute(
                "SELECT * FROM canon ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self.conn.execute(
                "SELECT canon.*, bm25(canon_fts) AS rank FROM canon_fts "
                "JOIN canon ON canon.rowid = canon_fts.rowid "
                "WHERE canon_fts MATCH ? ORDER BY rank, canon.seq LIMIT ?",
                (match, limit),
            ).fetchall()
        return [projections.decode_canon(dict(r)) for r in rows]
