"""What the report's sections read: one WP's record (its row, events and entries) and
the pointers a statement carries (`{"seq": N}` for an event, `{"entry": ID, "sha256": HEX}`
for an entry)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cockpit.domain import EventType, Predicate
from cockpit.store import Event, Store
from cockpit.store.rows import WorkPackageRow

_MEASURED_OUTPUT = re.compile(r"output sha256: ([0-9a-f]{64})")


def ptr(event: Event) -> dict[str, Any]:
    """A pointer to one event of the chain."""
    return {"seq": event.seq}


def pin(entry_id: str, sha256: str) -> dict[str, Any]:
    """A pointer to one entry as it was ingested (its file's SHA-256)."""
    return {"entry": entry_id, "sha256": sha256}


def fact(text: str, *pointers: dict[str, Any]) -> dict[str, Any]:
    """One statement of the report and what supports it."""
    return {"text": text, "pointers": list(pointers)}


def tail_hash(text: object) -> str | None:
    """The SHA-256 of a recorded output tail (UTF-8), so a reader can hash the text the
    event holds and compare; None when nothing was recorded."""
    if not isinstance(text, str) or not text:
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def output_hash(log: object, *, measured: bool) -> dict[str, Any] | None:
    """What an evidence item's log says of the command's output: the hash of the whole
    output when the runner measured it (its driver writes `output sha256: HEX`), else the
    hash of the log text as recorded."""
    if not isinstance(log, str) or not log:
        return None
    found = _MEASURED_OUTPUT.search(log) if measured else None
    if found:
        return {"of": "full output (measured by the runner)", "sha256": found.group(1)}
    return {"of": "the recorded log", "sha256": tail_hash(log)}


class Record:
    """One work package's record as the report reads it: nothing but the store."""

    def __init__(self, store: Store, row: WorkPackageRow) -> None:
        self.store = store
        self.row = row
        self.body: dict[str, Any] = row["body"] or {}
        self.events = store.events(row["id"])
        self.last = self.events[-1]
        moves = [e for e in self.events if e.payload.get("transition")]
        self.last_transition = moves[-1] if moves else None
        self._entries = store.entries(row["id"])
        verdicts = self.of(EventType.VERIFY_COMPLETED)
        decided = [e for e in verdicts if e.payload.get("outcome") not in (None, "skipped")]
        chosen = decided or verdicts  # the latest run that decided, else the latest run
        self.decision: Event | None = chosen[-1] if chosen else None
        self.decision_payload: dict[str, Any] = self.decision.payload if self.decision else {}

    def of(self, *types: str) -> list[Event]:
        return [e for e in self.events if e.type in types]

    def pointers(self, *types: str) -> list[dict[str, Any]]:
        return [ptr(e) for e in self.of(*types)]

    def event_pointers(self, event: Event) -> list[dict[str, Any]]:
        """The event, and the entry it recorded (if any)."""
        out = [ptr(event)]
        if event.entry_id and "entry" in event.payload and event.payload.get("sha256"):
            out.append(pin(event.entry_id, event.payload["sha256"]))
        return out

    def booking_pointers(self) -> list[dict[str, Any]]:
        booked = self.of(EventType.TASK_CREATED)
        return self.event_pointers(booked[0]) if booked else [ptr(self.events[0])]

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["kind"] == kind]

    def cited(self, claim: dict[str, Any]) -> set[str]:
        """The evidence ids a claim cites (pins stripped)."""
        return {str(ref).split("@", 1)[0] for ref in (claim["body"] or {}).get("evidence") or []}

    def predicates(self) -> list[tuple[str, tuple[str, str]]]:
        """The deciding gate run's predicates in the gate's order: (name, (status, detail))."""
        table = self.decision_payload.get("predicates") or {}
        out = []
        for name in [p.value for p in Predicate] + sorted(set(table) - set(Predicate)):
            result = table.get(name)
            if isinstance(result, dict):
                out.append((name, (str(result.get("status")), str(result.get("detail")))))
        return out

    def predicate(self, name: str) -> tuple[str, str] | None:
        return dict(self.predicates()).get(name)
