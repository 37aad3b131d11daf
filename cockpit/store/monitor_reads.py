"""The store's reads for the progress monitor (a part of `Store`): the events it follows,
the WPs gone quiet, and its flags counted for metrics."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from cockpit.domain import EventType
from cockpit.store.attention import OPEN_SQL
from cockpit.store.events import Event

_COLUMNS = (
    "seq, event_id, parent_seq, ts, type, work_package, principal, entry_id, payload, leaf, chain"
)


class MonitorReads:
    """What the progress monitor reads."""

    conn: sqlite3.Connection

    def events_of_types(self, types: tuple[str, ...], since_seq: int = 0) -> Iterator[Event]:
        """The events of `types` after `since_seq`, in seq order, one at a time."""
        marks = ", ".join("?" for _ in types)
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM events WHERE type IN ({marks}) AND seq > ? ORDER BY seq",
                [*types, since_seq],
            )
            while rows := cursor.fetchmany(256):
                for seq, eid, parent, ts, kind, wp, who, entry, text, leaf, chain in rows:
                    payload = json.loads(text)
                    yield Event(seq, eid, parent, ts, kind, wp, who, entry, payload, leaf, chain)
        finally:
            cursor.close()

    def quiet_work_packages(self, before_ts: str) -> list[dict[str, Any]]:
        """Open WPs whose own last event is older than `before_ts` (monitor events are not
        theirs), oldest first: id, state, last_seq, updated_ts, monitor_flags."""
        rows = self.conn.execute(
            "SELECT id, state, last_seq, updated_ts, monitor_flags FROM work_packages "
            f"WHERE {OPEN_SQL} AND updated_ts < ? ORDER BY updated_ts, id",
            (before_ts,),
        ).fetchall()
        return [
            {
                "id": r[0],
                "state": r[1],
                "last_seq": r[2],
                "updated_ts": r[3],
                "monitor_flags": json.loads(r[4]) if r[4] else None,
            }
            for r in rows
        ]

    def monitor_counts(self) -> dict[str, Any]:
        """The monitor's flags counted: raised (by reason), dismissed, open now, and the
        open WPs that carry one."""
        by_reason: dict[str, int] = {}
        for (reason,) in self.conn.execute(
            "SELECT json_extract(payload, '$.reason') FROM events WHERE type = ?",
            (EventType.MONITOR_FLAGGED.value,),
        ):
            by_reason[str(reason)] = by_reason.get(str(reason), 0) + 1
        dismissed = self.conn.execute(
            "SELECT count(*) FROM events WHERE type = ?", (EventType.MONITOR_DISMISSED.value,)
        ).fetchone()[0]
        open_now = flagged_wps = 0
        for (text,) in self.conn.execute(
            "SELECT monitor_flags FROM work_packages "
            f"WHERE monitor_flags IS NOT NULL AND {OPEN_SQL}"
        ):
            open_now += len(json.loads(text))
            flagged_wps += 1
        return {
            "flagged": sum(by_reason.values()),
            "by_reason": dict(sorted(by_reason.items())),
            "dismissed": int(dismissed),
            "open": open_now,
            "work_packages_flagged": flagged_wps,
        }
