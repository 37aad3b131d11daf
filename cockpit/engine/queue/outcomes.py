"""What a sweep handles and reports: the files it found (`QueuedFile`), the entries it
claimed into a batch (`Staged`), its counts and log (`SweepResult`), and the line between
an entry's fault and the environment's (`environmental`, `apply_failure`)."""

from __future__ import annotations

import contextlib
import errno
import gc
import itertools
import os
import sqlite3
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, RejectionCode
from cockpit.engine.entries.models import EntryRejected, ParsedEntry
from cockpit.engine.entries.reader import display_name, read_and_parse
from cockpit.engine.queue import maildir as queue
from cockpit.store import Event, NewEvent

LOG_LIMIT = 1000
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
        self.ingested += other.ingested
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.retried += other.retried
        self.recovered += other.recovered
        self.errors += other.errors
        self.events += other.events
        self.log += other.log
        if len(self.log) > LOG_LIMIT:
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


@dataclass(slots=True)
class QueuedFile:
    """A file found waiting (in new/, or an orphan in cur/) and what reading it gave."""

    path: Path
    orphan: bool
    parsed: ParsedEntry | None = None
    error: EntryRejected | None = None
    sha256: str | None = None
    # Taken into cur/ by this sweep already (its batch failed and it waits to be planned again).
    claimed: bool = False

    @property
    def name(self) -> str:
        return display_name(self.path.name)

    def read(self) -> bool:
        """Read and parse the file; False if it is gone (another sweeper took it)."""
        try:
            self.parsed, self.error, self.sha256 = read_and_parse(self.path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.error = EntryRejected(RejectionCode.PARSE_ERROR, f"cannot be read ({exc})")
        return True

    def found(self, now: float, signatures_required: bool, result: SweepResult) -> bool:
        """Read and parse the file found waiting; False if it is not to be swept now: taken
        by another sweeper, or retried (`waits`: counted in `result`)."""
        if not self.read():
            return False
        if self.waits(now, signatures_required):
            result.retried += 1
            result.log.append({"file": self.name, "outcome": "retry"})
            return False
        return True

    def waits(self, now: float, signatures_required: bool) -> bool:
        """True if the file is retried next sweep: young (a `cp` may still be writing it)
        and not readable yet, or, under `signatures: required`, young and its NAME.sig not
        there yet (SPEC 10.1). An orphan in cur/ was whole when it was claimed: never."""
        if self.orphan:
            return False
        if self.error is not None:
            return self.error.code in RETRYABLE and queue.is_young(self.path, now)
        return (
            signatures_required
            and not os.path.lexists(queue.sig_path(self.path))
            and queue.is_young(self.path, now)
        )

    def order_key(self) -> tuple[int, datetime, str, int, str]:
        """(`created`, `id`), then arrival (mtime) and name for a tie."""
        return (*self._first_key(), self._arrived(), self.name)

    def _first_key(self) -> tuple[int, datetime, str]:
        if self.parsed is None:
            return (0, datetime.min.replace(tzinfo=UTC), "")
        entry = self.parsed.entry
        return (1, entry.created.astimezone(UTC), entry.id)

    def _arrived(self) -> int:
        try:
            return self.path.lstat().st_mtime_ns
        except OSError:
            return 0

    @staticmethod
    def in_order(items: list[QueuedFile]) -> list[QueuedFile]:
        """`items` sorted by `order_key`, a file's arrival looked up only where (`created`,
        `id`) tie (a replay, or files that did not parse)."""
        keyed = sorted(((item._first_key(), n, item) for n, item in enumerate(items)))
        out: list[QueuedFile] = []
        for _, group in itertools.groupby(keyed, key=lambda k: k[0]):
            tied = [item for _, _, item in group]
            out += sorted(tied, key=QueuedFile.order_key) if len(tied) > 1 else tied
        return out


@dataclass(slots=True)
class Staged:
    """An entry claimed into a batch: where its file is now, and what planning it did."""

    item: QueuedFile
    path: Path
    original: str
    sig: bytes | str | None
    # None: not planned yet; "applied", "rejected", or "moved" (an orphan rejected before).
    outcome: str | None = None
    events: list[Event] = field(default_factory=list)
    duplicate: bool = False
    error: EntryRejected | None = None
    target: Path | None = None  # rejected/ path, for a rejection
    recorded: dict[str, Any] | None = None  # the earlier rejection of a "moved" orphan


class Redo(Exception):
    """Appending an entry's events failed in a batch planned without savepoints: the batch
    is rolled back and planned again, each entry in a savepoint of its own."""

    def __init__(self, current: Staged) -> None:
        super().__init__(current.original)
        self.current = current


def rejection_event(current: Staged, error: EntryRejected) -> NewEvent:
    """The entry's `entry_rejected` event; its file is moved to `current.target` once the
    event is committed."""
    parsed = current.item.parsed
    assert current.target is not None
    entry_id = error.entry_id or (parsed.entry.id if parsed else None)
    work_package = parsed.entry.work_package if parsed else None
    payload: dict[str, Any] = {
        "code": error.code.value,
        "message": error.message,
        "file": display_name(current.target.name),
        "original_file": current.original,
        "sha256": current.item.sha256 or "",
    }
    if parsed is not None:
        payload["claimed_principal"] = parsed.entry.principal
    if error.signature is not None:  # a validly signed entry uses its id up (10.1)
        payload.update(entry_signature=error.signature, signed=True)
    return NewEvent(EventType.ENTRY_REJECTED, work_package, None, entry_id, payload)


def error_result(name: str, parsed: ParsedEntry | None, exc: BaseException) -> SweepResult:
    """An entry the environment failed: counted, named, its file left for the next sweep."""
    result = SweepResult(errors=1)
    result.log.append(
        {
            "file": name,
            "outcome": "error",
            "entry_id": parsed.entry.id if parsed else None,
            "message": f"{type(exc).__name__}: {exc}",
        }
    )
    return result


# Codes a half-written file can produce; a young file failing with them is retried.
RETRYABLE = frozenset(
    {
        RejectionCode.PARSE_ERROR,
        RejectionCode.UNSAFE_YAML,
        RejectionCode.UNKNOWN_KIND,
        RejectionCode.BAD_ID,
        RejectionCode.SCHEMA_ERROR,
    }
)


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[bool]:
    """Python's cycle collector held off for a sweep. What a sweep makes is kept until it
    ends (parsed entries, planned events) or freed as its count drops: nothing for the
    collector to find, but it would walk all of it again and again as the sweep's
    serialising allocates, and a full collection can take longer than a hundred entries.
    What is left is collected after. The sweep lets it run again where it calls out
    (`cycle_collection`). Gives whether the collector was running before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield enabled
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def cycle_collection(allowed: bool) -> Iterator[None]:
    """Inside `no_cycle_collection`: the collector running again (if `allowed`: it ran
    before) while the sweep calls out, to the runner's gate or to git, whose objects may
    hold cycles (and files) that only the collector frees."""
    if not allowed or gc.isenabled():
        yield
        return
    gc.enable()
    try:
        yield
    finally:
        gc.disable()


def requeue(staged: list[Staged], waiting: deque[QueuedFile]) -> None:
    """A rolled-back batch's entries put back, first in line and in order, to be planned
    again from where they are now (cur/: claimed already)."""
    for current in reversed(staged):
        current.item.path, current.item.claimed = current.path, True
        waiting.appendleft(current.item)
