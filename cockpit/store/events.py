"""What the audit log holds: an event to append (`NewEvent`) and an appended one (`Event`),
with the clock that stamps them. Every other store module builds on these."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """`moment` in UTC as 2026-11-21T10:00:00.000000Z."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads the year, strftime does not
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class NewEvent:
    """An event to append; the store assigns seq, ids, parent, time and hashes."""

    type: str  # an EventType (a str enum), stored as its value
    work_package: str | None
    principal: str | None
    entry_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One appended event as stored."""

    seq: int
    event_id: str
    parent_seq: int | None
    ts: str
    type: str
    work_package: str | None
    principal: str | None
    entry_id: str | None
    payload: dict[str, Any]
    leaf: str
    chain: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(**{**row, "payload": json.loads(row["payload"])})

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "parent_seq": self.parent_seq,
            "ts": self.ts,
            "type": self.type,
            "work_package": self.work_package,
            "principal": self.principal,
            "entry_id": self.entry_id,
            "payload": self.payload,
            "leaf": self.leaf,
            "chain": self.chain,
        }
