"""The runner's own pruning (SPEC 11.4): worktrees and branches of WPs finished
(cancelled, rolled back or delivered) more than `worktrees.keep_days` ago are removed,
each a `worktree_pruned` event signed with the runner key. It never forces: a worktree
with uncommitted changes stays (and is logged once), as does one whose agent runs.
Orphans are left to a person (`cockpit worktrees prune`): nothing in the record says
whose they are. `keep_days: 0` turns it off.

The long-running runner looks once an hour (`EVERY_S`), `run --once` once a run; what
is due is decided by the store's clock, so a test moves the clock rather than waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from cockpit.domain import EventType
from cockpit.engine.repo import housekeeping
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.runner.provision import RUNNER_PRINCIPAL
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store

EVERY_S = 3600.0
log_ = logging.getLogger(__name__)


def prune_due(
    ws: Workspace, store: Store, busy: Callable[[str], bool] | None = None
) -> tuple[list[Event], list[str]]:
    """Prune what finished more than keep_days ago; the events recorded, and the names
    left because they hold uncommitted changes (or an agent of theirs runs)."""
    days = ws.config.worktrees.keep_days
    if days <= 0:
        return [], []
    cutoff = store.clock() - timedelta(days=days)
    finished = housekeeping.finished_worktrees(ws, store)  # never an orphan
    planned = housekeeping.plan(ws, store, candidates=finished, finished_before=cutoff)
    left = [item.name for item, _why in planned.skipped]
    events = []
    for item in planned.remove:
        if busy is not None and busy(item.name):
            left.append(item.name)
            continue
        try:
            payload = housekeeping.remove(ws, item)
        except (WorktreeError, OSError) as exc:
            log_.warning("%s: the worktree of %s could not be pruned: %s", ws.root, item.name, exc)
            continue
        payload["keep_days"] = days
        with store.transaction():
            new = NewEvent(EventType.WORKTREE_PRUNED, None, RUNNER_PRINCIPAL, None, payload)
            events.append(store.append(new))
    return events, left


class Pruner:
    """Runs prune_due at most once every `every_s` seconds, never failing the runner."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        on_event: Callable[[Event], None] | None = None,
        busy: Callable[[str], bool] | None = None,
        every_s: float = EVERY_S,
    ) -> None:
        self.ws, self.store, self.on_event, self.busy = ws, store, on_event, busy
        self.every_s = every_s
        self.next_at = 0.0
        self._said: set[str] = set()

    def tick(self) -> list[Event]:
        if time.monotonic() < self.next_at:
            return []
        self.next_at = time.monotonic() + self.every_s
        try:
            events, left = prune_due(self.ws, self.store, self.busy)
        except Exception:
            log_.exception("%s: pruning worktrees failed; the runner goes on", self.ws.root)
            return []
        for name in sorted(set(left) - self._said):
            log_.info("%s: the finished worktree of %s is kept: it has uncommitted changes "
                      "or a running agent (`cockpit worktrees prune --force` removes it)",
                      self.ws.root, name)  # fmt: skip
        self._said |= set(left)
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        return events
