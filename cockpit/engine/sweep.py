"""One sweep of the queue: every entry in new/ (and any orphan a crashed runner left in
cur/) is ingested exactly once, in (`created`, `id`) order, or rejected with its reason.

The runner never crashes on an entry: every failure of an entry becomes a rejection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.engine import queue
from cockpit.engine.domain import RejectionCode
from cockpit.engine.entries import (
    MAX_ENTRY_BYTES,
    EntryRejected,
    ParsedEntry,
    parse_entry,
    sha256_hex,
)
from cockpit.engine.ingest import plan_entry
from cockpit.engine.workspace import Workspace
from cockpit.store import Event, NewEvent, Store

# Codes a half-written file can produce; a young file failing with them is retried.
_RETRYABLE = frozenset(
    {
        RejectionCode.PARSE_ERROR,
        RejectionCode.UNSAFE_YAML,
        RejectionCode.UNKNOWN_KIND,
        RejectionCode.BAD_ID,
        RejectionCode.SCHEMA_ERROR,
    }
)


@dataclass
class SweepResult:
    """Counts of one sweep (the `run --json` summary), plus what happened, in order."""

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    retried: int = 0
    recovered: int = 0
    events: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: SweepResult) -> None:
        for name in ("ingested", "duplicates", "rejected", "retried", "recovered", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.log.extend(other.log)

    def counts(self) -> dict[str, int]:
        return {
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "retried": self.retried,
            "recovered": self.recovered,
            "events": self.events,
        }


@dataclass
class _Candidate:
    path: Path
    orphan: bool
    parsed: ParsedEntry | None = None
    error: EntryRejected | None = None
    sha256: str | None = None

    def order_key(self) -> tuple[int, datetime, str, str]:
        if self.parsed is None:
            return (0, datetime.min.replace(tzinfo=UTC), "", self.path.name)
        entry = self.parsed.entry
        return (1, entry.created.astimezone(UTC), entry.id, self.path.name)


def _read(path: Path) -> tuple[ParsedEntry | None, EntryRejected | None, str | None]:
    """Parse a queue file without trusting it: symlink and size first, then content."""
    stat = path.lstat()
    if path.is_symlink():
        return (
            None,
            EntryRejected(RejectionCode.SYMLINK, "symlinks are not accepted as entries"),
            None,
        )
    if stat.st_size > MAX_ENTRY_BYTES:
        message = f"entry is {stat.st_size} bytes; the limit is {MAX_ENTRY_BYTES}"
        return None, EntryRejected(RejectionCode.TOO_LARGE, message), None
    data = path.read_bytes()
    digest = sha256_hex(data)
    try:
        return parse_entry(data, path.name), None, digest
    except EntryRejected as exc:
        return None, exc, digest
    except (RecursionError, MemoryError, ValueError) as exc:  # e.g. absurdly deep nesting
        message = f"could not be parsed ({type(exc).__name__})"
        return None, EntryRejected(RejectionCode.PARSE_ERROR, message), digest


EventSink = Callable[[Event], None]


class Sweeper:
    """Ingests the queue of one workspace into its store.

    With `commit=False` (dry-run) every check and event is computed inside a transaction
    that is rolled back, and no file is moved: the plan is reported, nothing changes.
    """

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        *,
        commit: bool = True,
        on_event: EventSink | None = None,
        after_ingest: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = ws
        self.store = store
        self.commit = commit
        self.on_event = on_event
        # Called with the WP id after each committed ingest (the runner verifies claims here).
        self.after_ingest = after_ingest

    def sweep(self) -> SweepResult:
        """Ingest every pending entry once; returns the counts and a log of outcomes."""
        self.ws.ensure_dirs()
        result = SweepResult()
        candidates = [_Candidate(p, orphan=True) for p in queue.pending(self.ws.queue_dir("cur"))]
        candidates += [_Candidate(p, orphan=False) for p in queue.pending(self.ws.queue_dir("new"))]
        now = time.time()
        ready: list[_Candidate] = []
        for candidate in candidates:
            try:
                candidate.parsed, candidate.error, candidate.sha256 = _read(candidate.path)
            except FileNotFoundError:
                continue  # taken by another sweeper
            if (
                candidate.error is not None
                and candidate.error.code in _RETRYABLE
                and not candidate.orphan
                and queue.is_young(candidate.path, now)
            ):
                result.retried += 1
                result.log.append({"file": candidate.path.name, "outcome": "retry"})
                continue
            ready.append(candidate)
        ready.sort(key=_Candidate.order_key)
        if not self.commit:
            with self.store.transaction(commit=False):
                for candidate in ready:
                    result.merge(self._ingest(candidate, dry_run=True))
            return result
        for candidate in ready:
            result.merge(self._ingest(candidate, dry_run=False))
        return result

    def _ingest(self, candidate: _Candidate, *, dry_run: bool) -> SweepResult:
        result = SweepResult()
        path = candidate.path
        original = path.name
        if not candidate.orphan and not dry_run:
            claimed = queue.claim(path, self.ws.queue_dir("cur"))
            if claimed is None:
                return result
            path = claimed
        if candidate.orphan:
            result.recovered += 1

        error = candidate.error
        events: list[Event] = []
        duplicate = False
        if error is None:
            assert candidate.parsed is not None
            try:
                with self._transaction(dry_run):
                    plan = plan_entry(candidate.parsed, self.ws.config, self.store)
                    duplicate = plan.duplicate
                    events = [self.store.append(e) for e in plan.events]
            except EntryRejected as exc:
                error = exc
            except Exception as exc:  # a bug must not stop the queue: leave it for a retry
                result.log.append(
                    {
                        "file": original,
                        "outcome": "error",
                        "message": f"{type(exc).__name__}: {exc}",
                        "entry_id": candidate.parsed.entry.id,
                    }
                )
                return result

        entry_id = candidate.parsed.entry.id if candidate.parsed else None
        if error is not None:
            events = self._record_rejection(candidate, path, original, error, dry_run)
            result.rejected += 1
            result.log.append(
                {
                    "file": original,
                    "outcome": "rejected",
                    "code": error.code.value,
                    "message": error.message,
                    "entry_id": error.entry_id or entry_id,
                }
            )
        else:
            if not dry_run:
                queue.finish(path, self.ws.queue_dir("done"))
            if duplicate:
                if not candidate.orphan:
                    result.duplicates += 1
                outcome = "recovered" if candidate.orphan else "duplicate"
            else:
                result.ingested += 1
                outcome = "ingested"
            result.log.append({"file": original, "outcome": outcome, "entry_id": entry_id})
        result.events += len(events)
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        if events and error is None and not dry_run and self.after_ingest is not None:
            assert candidate.parsed is not None
            self.after_ingest(candidate.parsed.entry.work_package)
        return result

    def _transaction(self, dry_run: bool) -> Any:
        if dry_run:
            return contextlib.nullcontext(self.store)
        return self.store.transaction()

    def _record_rejection(
        self,
        candidate: _Candidate,
        path: Path,
        original: str,
        error: EntryRejected,
        dry_run: bool,
    ) -> list[Event]:
        parsed = candidate.parsed
        entry_id = error.entry_id or (parsed.entry.id if parsed else None)
        work_package = parsed.entry.work_package if parsed else None
        target = queue.reject_target(self.ws.queue_dir("rejected"), original)
        sha = candidate.sha256 or ""
        events: list[Event] = []
        with self._transaction(dry_run):
            # A crashed runner may have recorded this rejection before it could move the file.
            if not (candidate.orphan and self.store.rejection_recorded(original, sha)):
                payload = {
                    "code": error.code.value,
                    "message": error.message,
                    "file": target.name,
                    "original_file": original,
                    "sha256": sha,
                }
                if parsed is not None:
                    payload["claimed_principal"] = parsed.entry.principal
                new = NewEvent("entry_rejected", work_package, None, entry_id, payload)
                events.append(self.store.append(new))
        if not dry_run:
            reason = {"code": error.code.value, "message": error.message, "entry_id": entry_id}
            queue.move_rejected(path, target, reason)
        return events
