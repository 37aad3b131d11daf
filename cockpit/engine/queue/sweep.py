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
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cockpit.domain import RejectionCode, State
from cockpit.engine.entries.models import EntryRejected, ParsedEntry
from cockpit.engine.entries.reader import read_and_parse, read_signature_file
from cockpit.engine.ingest.pipeline import (
    NOT_PREPARED,
    Prepared,
    StalePreparation,
    needs_preparation,
    plan_entry,
    prepare,
)
from cockpit.engine.queue import maildir as queue
from cockpit.engine.queue.helper import HELPER_MIN, Helper, Move, Moves, batch_limit
from cockpit.engine.queue.outcomes import (
    QueuedFile,
    Redo,
    Staged,
    SweepResult,
    apply_failure,
    cycle_collection,
    environmental,
    error_result,
    no_cycle_collection,
    rejection_event,
    requeue,
)
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, Store

# A review is prepared again at most this often when its WP moves while it is checked.
_PREPARE_ATTEMPTS = 3
# Group commit: a batch holds at most this many entries, and takes no more once it has been
# open this long (the write lock is never held for longer, and a lone entry is committed at
# once: a batch never waits for entries to come).
BATCH_MAX = 256
BATCH_SECONDS = 0.2


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
        self._dirs = {name: ws.queue_dir(name) for name in ("new", "cur", "done", "rejected")}
        self._helper: Helper | None = None  # a large sweep's helper process (helper.py)
        self._moves = Moves(self._dirs)
        # rejected/ names given in this sweep: with a helper, a batch's files are moved while
        # the next is planned, so a name is promised until the sweep ends, not the batch.
        self._promised: set[str] = set()
        self._failing = False  # a batch could not even begin (the store locked, say)
        self._careful = False  # each entry of a batch in a savepoint of its own (see _plan)
        # The cycle collector ran before the sweep held it off: it runs again where the sweep
        # calls out (the runner's callbacks, git), for what they make.
        self._collecting = True

    def sweep(self, stop: threading.Event | None = None) -> SweepResult:
        """Ingest every pending entry once (stopping between entries if `stop` is set);
        returns the counts and a log of outcomes. Group commit: up to BATCH_MAX entries (or
        what BATCH_SECONDS allow) are claimed, planned and appended in one transaction,
        committed with one fsync, and only then moved to done/ or rejected/. A crash
        anywhere leaves the batch's files in cur/, where the next sweep finds them as
        orphans: the store says which were committed, so each is ingested exactly once."""
        if not self.dry_run:
            self.ws.ensure_dirs()
        result = SweepResult()
        with no_cycle_collection() as self._collecting:
            files = [QueuedFile(p, orphan=True) for p in queue.pending(self._dirs["cur"])]
            files += [QueuedFile(p, orphan=False) for p in queue.pending(self._dirs["new"])]
            if not self.dry_run and len(files) >= HELPER_MIN:
                self._helper = Helper(self._dirs)  # it starts while the files are parsed
            self._moves = Moves(self._dirs, self._helper)
            self._promised, self._failing, self._careful = set(), False, False
            try:
                self._sweep(files, result, stop)
            finally:
                self._helper = None
                settled = self._moves.settled()
        result.merge(settled)
        return result

    def _sweep(self, files: list[QueuedFile], result: SweepResult, stop: Any) -> None:
        now = time.time()
        signed = self.ws.config.signatures_required
        ready = [item for item in files if item.found(now, signed, result)]
        ready = QueuedFile.in_order(ready)
        if self._helper is not None:
            self._helper.claim_in_order(
                [(i.path.name, i.sha256 or "") for i in ready if not i.orphan]
            )
        waiting = deque(ready)
        with self.store.transaction(commit=False) if self.dry_run else contextlib.nullcontext():
            while waiting and not self._stopping(stop, waiting[0]):
                if waiting[0].parsed is not None and needs_preparation(waiting[0].parsed):
                    done = self._prepared(waiting.popleft())
                else:
                    done = self._batch(waiting, stop)
                if (kept := self._moves.keep(done)) is not None:
                    result.merge(kept)
            if self.dry_run and self.planned is not None:
                with cycle_collection(self._collecting):
                    self.planned()

    def _stopping(self, stop: threading.Event | None, head: QueuedFile) -> bool:
        """True once `stop` is set, and what was claimed for the sweep is planned (the
        files the helper claimed, those of a batch rolled back: `head`, the next in line,
        is one), so a stop leaves no file claimed and unplanned, unless the environment
        fails the batches: then what was claimed waits in cur/ for the next sweep."""
        if stop is None or not stop.is_set():
            return False
        if self._failing:
            return True
        if head.claimed:
            return False
        if self._helper is None:
            return True
        self._helper.stop_asking()
        return self._helper.holding() == 0

    # -- one batch ----------------------------------------------------------------------

    def _batch(self, waiting: deque[QueuedFile], stop: threading.Event | None) -> SweepResult:
        """Claim, plan and append the next entries that need no preparation in one
        transaction; then, once it is committed, move their files and report them."""
        staged: list[Staged] = []
        failing: QueuedFile | None = None  # the entry being claimed or planned
        started = time.monotonic()
        limit = BATCH_MAX
        if self._helper is not None:
            limit = batch_limit(len(waiting), BATCH_MAX)
        try:
            with self._batch_transaction():
                while waiting and len(staged) < limit:
                    item = waiting[0]
                    if staged and (
                        (item.parsed is not None and needs_preparation(item.parsed))
                        or time.monotonic() - started >= BATCH_SECONDS
                        or self._stopping(stop, item)
                    ):
                        break
                    failing = waiting.popleft()
                    current = self._claimed(item)
                    if current is not None:
                        self._plan(current, optimistic=not self._careful)
                        staged.append(current)
                    failing = None
                    if current is not None and self._verifies(current):
                        break  # the gate judges this claim before any later entry is planned
        except Redo as redo:  # nothing of the batch was kept: planned again, with care
            self._careful = True
            self._promised.difference_update(c.target.name for c in staged if c.target)
            requeue([*staged, redo.current], waiting)
            return SweepResult()
        except Exception as exc:  # the environment failed: nothing of the batch was kept
            return self._failed_batch(staged, failing, waiting, exc)
        result = SweepResult()
        for current in staged:
            if (settled := self._settled(current)) is not None:
                result.merge(settled)
        self._moves.ask()
        return result

    def _settled(self, current: Staged) -> SweepResult | None:
        """`_settle`, never raising: the batch is committed, so a failure now (the disk full)
        is the environment's: an error, its file left in cur/ (the next sweep finds it
        committed and only moves it); the batch's other entries are settled all the same."""
        try:
            return self._settle(current)
        except Exception as exc:
            failed = error_result(current.original, current.item.parsed, exc)
            failed.events = len(current.events)
            return self._moves.keep(failed)

    def _batch_transaction(self) -> Any:
        if self.dry_run:  # inside the sweep's rolled-back transaction: a part of it
            return self.store.savepoint("batch")
        return self.store.transaction(booking=True)

    def _failed_batch(
        self,
        staged: list[Staged],
        failing: QueuedFile | None,
        waiting: deque[QueuedFile],
        exc: Exception,
    ) -> SweepResult:
        """The batch was rolled back: the environment failed (the store locked, full or
        unwritable; the disk full). The entry being claimed or planned then is an error,
        its file left for the next sweep; those planned before it wait for the next batch.
        If the commit itself failed, every entry of the batch is an error."""
        result = SweepResult()
        if failing is None and not staged:  # the transaction could not even begin
            failing = waiting.popleft() if waiting else None
            self._failing = True
            if failing is not None and self._helper is not None:
                self._helper.forget(failing.path.name)  # not claimed here: not waited for
        if failing is None:
            for current in staged:
                result.merge(error_result(current.original, current.item.parsed, exc))
            return result
        result.merge(error_result(failing.name, failing.parsed, exc))
        requeue(staged, waiting)
        return result

    def _claimed(self, item: QueuedFile) -> Staged | None:
        """Take the file into cur/ (not an orphan there already, nor in a dry run), through
        the helper if any, and read what was taken; None if another sweeper took it."""
        path = item.path
        if item.orphan or item.claimed or self.dry_run:
            return Staged(item, path, item.name, read_signature_file(queue.sig_path(path)))
        got = self._helper.claimed(path.name) if self._helper is not None else None
        if got is None:  # no helper, one not given this file, or one that cannot answer
            try:
                taken = queue.claim(path, self._dirs["cur"])
            finally:
                if self._helper is not None:
                    self._helper.claimed_here(path.name)
            if taken is None:
                return None
            (path, signed), same = taken, False
        elif got.failure is not None:
            raise got.failure  # as if the sweep had claimed it itself
        elif got.path is None:
            return None
        else:
            path, signed, same = got.path, got.signed, got.same
        if not same:  # what is ingested is what was claimed: read again if it changed
            try:
                item.parsed, item.error, item.sha256 = read_and_parse(
                    path, (item.parsed, item.error, item.sha256)
                )
            except OSError as exc:  # unreadable (permissions): rejected now, not next sweep
                item.parsed, item.sha256 = None, None
                item.error = EntryRejected(RejectionCode.PARSE_ERROR, f"cannot be read ({exc})")
        # cur/ held no NAME.sig before the claim (nobody else writes there): one came with
        # the file, or there is none.
        sig = read_signature_file(queue.sig_path(path)) if signed else None
        return Staged(item, path, item.name, sig)

    def _plan(
        self, current: Staged, prepared: Prepared | None = None, optimistic: bool = False
    ) -> None:
        """Plan and append one entry's events (or its rejection) in the open transaction,
        in a savepoint of its own unless `optimistic`. Raises only when the environment
        fails, or StalePreparation when the WP moved since `prepared` was taken.

        `optimistic` (a batch's entries, until one fails): no savepoint. Planning writes
        nothing, so an entry rejected by its checks leaves nothing to undo; if appending
        its events fails (what a savepoint is for), it raises Redo instead, and the batch
        is rolled back and planned again, each entry in a savepoint. A savepoint per entry
        has SQLite copy each page the entry changes, about 5% of a booking's ingest."""
        item = current.item
        if item.orphan or item.claimed:  # in cur/: another sweep may have planned it since
            recorded = self.store.rejection_for(current.original, item.sha256 or "")
            if recorded is not None:  # rejected before a crash; only the move was missing
                current.outcome = "moved"
                current.recorded = recorded
                self._promised.add(recorded["file"])  # no other rejection may take it
                return
        if item.error is not None:
            self._reject(current, item.error)
            return
        assert item.parsed is not None
        appending = False
        try:
            with contextlib.nullcontext() if optimistic else self.store.savepoint():
                plan = plan_entry(
                    item.parsed, self.ws.config, self.store, prepared or NOT_PREPARED, current.sig
                )
                appending = optimistic
                current.events = [self.store.append(e) for e in plan.events]
                current.duplicate = plan.duplicate
        except StalePreparation:
            raise
        except Exception as exc:
            if environmental(exc):
                raise  # not the entry's fault: an error, tried again next sweep
            if appending:
                raise Redo(current) from exc  # a part of it may be written: undo the batch
            if not isinstance(exc, EntryRejected):
                exc = apply_failure(exc, item.parsed.entry.id)
            self._reject(current, exc)
            return
        current.outcome = "applied"

    def _verifies(self, current: Staged) -> bool:
        """True if the runner's gate may judge this entry's WP once it is committed (the
        WP is in `claimed`, put there by this entry or left there with a verdict due): the
        batch ends here, so later entries are planned on what the gate decides, as they
        would be one at a time."""
        if self.after_ingest is None or self.dry_run or current.outcome != "applied":
            return False
        if not current.events or current.item.parsed is None:
            return False
        wp_id = current.item.parsed.entry.work_package
        return self.store.work_package_state(wp_id) == State.CLAIMED

    def _settle(self, current: Staged) -> SweepResult | None:
        """After the commit: move the file, then report the entry (with a helper: report
        it, then have the helper move the file; the result waits for the answer)."""
        result = SweepResult()
        item, original, name = current.item, current.original, current.path.name
        if item.orphan:
            result.recovered += 1
        if current.outcome == "moved":
            recorded = current.recorded
            assert recorded is not None
            reason = {k: recorded[k] for k in ("code", "message", "entry_id")}
            result.log.append(
                {"file": original, "outcome": "recovered", "entry_id": reason["entry_id"]}
            )
            return self._moved(current, result, ["reject", name, recorded["file"], reason])
        entry_id = item.parsed.entry.id if item.parsed else None
        error = current.error
        move: Move
        if error is not None:
            assert current.target is not None
            reason = error.as_reason()
            reason["entry_id"] = error.entry_id or entry_id
            move = ["reject", name, current.target.name, reason]
            result.rejected += 1
            result.log.append({"file": original, "outcome": "rejected", **reason})
        else:
            move = ["done", name, current.sig is not None]
            if current.duplicate:
                if not item.orphan:
                    result.duplicates += 1
                outcome = "recovered" if item.orphan else "duplicate"
            else:
                result.ingested += 1
                outcome = "ingested"
            result.log.append({"file": original, "outcome": outcome, "entry_id": entry_id})
        events = current.events
        result.events += len(events)
        settled = self._moved(current, result, move) if self._helper is None else None
        if self.on_event is not None and events:
            with cycle_collection(self._collecting):
                for event in events:
                    self.on_event(event)
        if events and error is None and not self.dry_run and self.after_ingest is not None:
            assert item.parsed is not None
            with cycle_collection(self._collecting):
                self.after_ingest(item.parsed.entry.work_package)
        return settled if self._helper is None else self._moved(current, result, move)

    def _moved(self, current: Staged, result: SweepResult, move: Move) -> SweepResult | None:
        if self.dry_run:
            return result
        return self._moves.settle(current, result, move)

    # -- an entry that needs preparing ----------------------------------------------------

    def _prepared(self, item: QueuedFile) -> SweepResult:
        """An entry whose planning needs git (a review accepting its WP): claimed, then
        prepared outside any transaction, then planned in a transaction of its own;
        prepared again if the WP moved in between."""
        try:
            current = self._claimed(item)
            if current is None:
                return SweepResult()
            parsed = item.parsed
            rejected_before = item.orphan and self.store.rejection_for(
                current.original, item.sha256 or ""
            )
            if parsed is not None and needs_preparation(parsed) and not rejected_before:
                self._apply_prepared(current, parsed)
            else:  # only its move was missing, or it changed since it was read: as any entry
                with self._batch_transaction():
                    self._plan(current)
        except Exception as exc:  # the environment failed; the file stays for the next sweep
            return error_result(item.name, item.parsed, exc)
        return self._settled(current) or SweepResult()

    def _apply_prepared(self, current: Staged, parsed: ParsedEntry) -> None:
        for _ in range(_PREPARE_ATTEMPTS):
            try:
                with cycle_collection(self._collecting):
                    prepared = prepare(parsed, self.ws, self.store)
            except Exception as exc:  # a failure of its checks is the entry's, not the machine's
                if environmental(exc):
                    raise
                with self._batch_transaction():
                    self._reject(current, apply_failure(exc, parsed.entry.id))
                return
            try:
                with self._batch_transaction():
                    self._plan(current, prepared)
                return
            except StalePreparation:
                continue
        with self._batch_transaction():
            self._reject(
                current,
                EntryRejected(
                    RejectionCode.BAD_REF,
                    "the work package kept changing while its admitted work was being checked",
                    parsed.entry.id,
                ),
            )

    def _reject(self, current: Staged, error: EntryRejected) -> None:
        """Record the entry's rejection (in the open transaction), its file bound for a
        name in rejected/ that nothing else in the sweep was promised."""
        current.error = error
        promised = self._promised
        current.target = queue.reject_target(self._dirs["rejected"], current.path.name, promised)
        promised.add(current.target.name)
        current.events = [self.store.append(rejection_event(current, error))]
        current.outcome = "rejected"
