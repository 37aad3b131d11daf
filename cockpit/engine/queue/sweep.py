"""One sweep of the queue: every entry in new/ (and any orphan a crashed runner left in
cur/) is ingested exactly once, in (`created`, `id`) order, or rejected with its reason.

The runner never crashes on an entry: a file that cannot be read or parsed is rejected,
and so is an entry whose application fails unexpectedly (`schema_error`, naming the
failure). Only a failure of the environment (the database locked, full or unwritable, the
disk full) is not the entry's fault: it is counted as an error, named in the log, and
leaves the file for the next sweep (docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, RejectionCode
from cockpit.engine.entries.models import (
    EntryRejected,
    ParsedEntry,
)
from cockpit.engine.entries.reader import display_name, read_and_parse, read_signature_file
from cockpit.engine.ingest.pipeline import StalePreparation, plan_entry, prepare
from cockpit.engine.queue import maildir as queue
from cockpit.engine.workspace.layout import Workspace
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
LOG_LIMIT = 1000
# A review is prepared again at most this often when its WP moves while it is checked.
_PREPARE_ATTEMPTS = 3
# OS errors that are the machine's, not the entry's: the entry is tried again next sweep.
_ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM, errno.EMFILE, errno.ENFILE}
)
_MESSAGE_LIMIT = 500


def environmental(exc: BaseException) -> bool:
    """True if a failure while applying an entry is the environment's (the store locked,
    full, read-only or failing; the disk full), so the entry is not to blame for it."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    return isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS


def apply_failure(exc: Exception, entry_id: str | None) -> EntryRejected:
    """The rejection of an entry whose application failed unexpectedly (schema_error: what
    it holds cannot be applied), with a message naming the failure."""
    detail = f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode()
    if len(detail) > _MESSAGE_LIMIT:
        detail = detail[:_MESSAGE_LIMIT] + "…"
    return EntryRejected(
        RejectionCode.SCHEMA_ERROR, f"the entry could not be applied ({detail})", entry_id
    )


@dataclass
class SweepResult:
    """Counts of one sweep (the `run --json` summary), plus what happened, in order."""

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    retried: int = 0
    recovered: int = 0
    errors: int = 0
    events: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: SweepResult) -> None:
        for name in (
            "ingested",
            "duplicates",
            "rejected",
            "retried",
            "recovered",
            "errors",
            "events",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.log.extend(other.log)
        del self.log[:-LOG_LIMIT]  # a long-running runner keeps only the recent plan

    def counts(self) -> dict[str, int]:
        return {
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "retried": self.retried,
            "recovered": self.recovered,
            "errors": self.errors,
            "events": self.events,
        }


@dataclass
class _QueuedFile:
    path: Path
    orphan: bool
    parsed: ParsedEntry | None = None
    error: EntryRejected | None = None
    sha256: str | None = None
    # NAME.sig's bytes (None: no signature; text: why it could not be read).
    sig: bytes | str | None = None

    @property
    def name(self) -> str:
        return display_name(self.path.name)

    def order_key(self) -> tuple[int, datetime, str, int, str]:
        """(`created`, `id`), then arrival (mtime) and name for a tie."""
        try:
            arrived = self.path.lstat().st_mtime_ns
        except OSError:
            arrived = 0
        if self.parsed is None:
            return (0, datetime.min.replace(tzinfo=UTC), "", arrived, self.name)
        entry = self.parsed.entry
        return (1, entry.created.astimezone(UTC), entry.id, arrived, self.name)


EventSink = Callable[[Event], None]


class Sweeper:
    """Ingests the queue of one workspace into its store.

    With `dry_run` every check and event is computed inside a transaction that is rolled
    back, and no file is moved: the plan is reported, nothing changes.
    """

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        *,
        dry_run: bool = False,
        on_event: EventSink | None = None,
        after_ingest: Callable[[str], None] | None = None,
        planned: Callable[[], object] | None = None,
    ) -> None:
        self.ws = ws
        self.store = store
        self.dry_run = dry_run
        self.on_event = on_event
        # Called with the WP id after each committed ingest (the runner verifies claims here).
        self.after_ingest = after_ingest
        # Dry-run only: called inside the rolled-back transaction, after the last entry,
        # so the runner can plan its agents on the state the sweep would leave.
        self.planned = planned

    def sweep(self, stop: threading.Event | None = None) -> SweepResult:
        """Ingest every pending entry once (stopping between entries if `stop` is set);
        returns the counts and a log of outcomes."""
        if not self.dry_run:
            self.ws.ensure_dirs()
        result = SweepResult()
        files = [_QueuedFile(p, orphan=True) for p in queue.pending(self.ws.queue_dir("cur"))]
        files += [_QueuedFile(p, orphan=False) for p in queue.pending(self.ws.queue_dir("new"))]
        now = time.time()
        ready: list[_QueuedFile] = []
        for item in files:
            try:
                item.parsed, item.error, item.sha256 = read_and_parse(item.path)
            except FileNotFoundError:
                continue  # taken by another sweeper
            except OSError as exc:
                item.error = EntryRejected(RejectionCode.PARSE_ERROR, f"cannot be read ({exc})")
            if (
                item.error is not None
                and item.error.code in _RETRYABLE
                and not item.orphan
                and queue.is_young(item.path, now)
            ) or self._awaits_signature(item, now):
                result.retried += 1
                result.log.append({"file": item.name, "outcome": "retry"})
                continue
            ready.append(item)
        ready.sort(key=_QueuedFile.order_key)
        with self.store.transaction(commit=False) if self.dry_run else contextlib.nullcontext():
            for item in ready:
                if stop is not None and stop.is_set():
                    break
                result.merge(self._guarded(item))
            if self.dry_run and self.planned is not None:
                self.planned()
        return result

    def _awaits_signature(self, item: _QueuedFile, now: float) -> bool:
        """Under `signatures: required` a young entry whose NAME.sig is not there yet is
        retried, like a young file that does not parse yet (SPEC 10.1)."""
        return (
            self.ws.config.signatures_required
            and item.error is None
            and not item.orphan
            and not os.path.lexists(queue.sig_path(item.path))
            and queue.is_young(item.path, now)
        )

    def _guarded(self, item: _QueuedFile) -> SweepResult:
        try:
            return self._ingest(item)
        except Exception as exc:  # the environment failed (or recording a rejection did):
            # one entry must never stop the queue; the file stays for the next sweep.
            result = SweepResult(errors=1)
            result.log.append(
                {
                    "file": item.name,
                    "outcome": "error",
                    "entry_id": item.parsed.entry.id if item.parsed else None,
                    "message": f"{type(exc).__name__}: {exc}",
                }
            )
            return result

    def _ingest(self, item: _QueuedFile) -> SweepResult:
        result = SweepResult()
        path = item.path
        original = item.name
        if not item.orphan and not self.dry_run:
            claimed = queue.claim(path, self.ws.queue_dir("cur"))
            if claimed is None:
                return result
            path = claimed
            # What is ingested is what was claimed: re-read if the file changed meanwhile.
            try:
                item.parsed, item.error, item.sha256 = read_and_parse(path)
            except OSError as exc:  # unreadable (permissions): rejected now, not next sweep
                item.parsed, item.sha256 = None, None
                item.error = EntryRejected(RejectionCode.PARSE_ERROR, f"cannot be read ({exc})")
        item.sig = read_signature_file(queue.sig_path(path))
        if item.orphan:
            result.recovered += 1
            recorded = self.store.rejection_for(original, item.sha256 or "")
            if recorded is not None:  # rejected before a crash; only the move was missing
                reason = {
                    "code": recorded["code"],
                    "message": recorded["message"],
                    "entry_id": recorded["entry_id"],
                }
                queue.move_rejected(path, self.ws.queue_dir("rejected") / recorded["file"], reason)
                result.log.append(
                    {"file": original, "outcome": "recovered", "entry_id": reason["entry_id"]}
                )
                return result

        error = item.error
        events: list[Event] = []
        duplicate = False
        if error is None:
            assert item.parsed is not None
            try:
                duplicate, events = self._apply(item.parsed, item.sig)
            except EntryRejected as exc:
                error = exc
            except Exception as exc:
                if environmental(exc):
                    raise  # not the entry's fault: an error, tried again next sweep
                error = apply_failure(exc, item.parsed.entry.id)

        entry_id = item.parsed.entry.id if item.parsed else None
        if error is not None:
            events = self._record_rejection(item, path, original, error)
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
            if not self.dry_run:
                queue.finish(path, self.ws.queue_dir("done"))
            if duplicate:
                if not item.orphan:
                    result.duplicates += 1
                outcome = "recovered" if item.orphan else "duplicate"
            else:
                result.ingested += 1
                outcome = "ingested"
            result.log.append({"file": original, "outcome": outcome, "entry_id": entry_id})
        result.events += len(events)
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        if events and error is None and not self.dry_run and self.after_ingest is not None:
            assert item.parsed is not None
            self.after_ingest(item.parsed.entry.work_package)
        return result

    def _apply(self, parsed: ParsedEntry, sig: bytes | str | None) -> tuple[bool, list[Event]]:
        """Prepare the entry (git, outside any transaction), then plan and append it in one
        transaction; prepare again if the WP moved in between. Raises EntryRejected."""
        for _ in range(_PREPARE_ATTEMPTS):
            prepared = prepare(parsed, self.ws, self.store)
            try:
                with self._transaction():
                    plan = plan_entry(parsed, self.ws.config, self.store, prepared, sig)
                    return plan.duplicate, [self.store.append(e) for e in plan.events]
            except StalePreparation:
                continue
        raise EntryRejected(
            RejectionCode.BAD_REF,
            "the work package kept changing while its admitted work was being checked",
            parsed.entry.id,
        )

    def _transaction(self) -> Any:
        if self.dry_run:  # already inside the sweep's rolled-back transaction
            return contextlib.nullcontext(self.store)
        return self.store.transaction()

    def _record_rejection(
        self, item: _QueuedFile, path: Path, original: str, error: EntryRejected
    ) -> list[Event]:
        parsed = item.parsed
        entry_id = error.entry_id or (parsed.entry.id if parsed else None)
        work_package = parsed.entry.work_package if parsed else None
        target = queue.reject_target(self.ws.queue_dir("rejected"), path.name)
        payload: dict[str, Any] = {
            "code": error.code.value,
            "message": error.message,
            "file": display_name(target.name),
            "original_file": original,
            "sha256": item.sha256 or "",
        }
        if parsed is not None:
            payload["claimed_principal"] = parsed.entry.principal
        if error.signature is not None:  # a validly signed entry uses its id up (10.1)
            payload.update(entry_signature=error.signature, signed=True)
        with self._transaction():
            event = self.store.append(
                NewEvent(EventType.ENTRY_REJECTED, work_package, None, entry_id, payload)
            )
        if not self.dry_run:
            reason = {"code": error.code.value, "message": error.message, "entry_id": entry_id}
            queue.move_rejected(path, target, reason)
        return [event]
