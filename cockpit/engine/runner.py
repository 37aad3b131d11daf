"""The runner: one per workspace (an OS lock), sweeping the queue once or for as long as
it runs. Watch events are hints; sweeps are the truth (SPEC 3.1, 9)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from cockpit.engine.domain import Mode
from cockpit.engine.errors import RunnerLocked
from cockpit.engine.sweep import Sweeper, SweepResult
from cockpit.engine.workspace import Workspace
from cockpit.store import Event, Store

RESCAN_SECONDS = 5.0


class RunnerLock:
    """An exclusive fcntl lock on `.cockpit/runner.lock`; it dies with the process."""

    def __init__(self, ws: Workspace) -> None:
        self.path = ws.lock_path
        self._handle: IO[str] | None = None

    def acquire(self) -> RunnerLock:
        """Take the lock or raise RunnerLocked naming the holder's pid and host."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = self._describe(handle.read())
            handle.close()
            raise RunnerLocked(f"another runner holds this workspace ({holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        handle.flush()
        self._handle = handle
        return self

    @staticmethod
    def _describe(text: str) -> str:
        try:
            info = json.loads(text)
            return f"pid {info['pid']} on host {info['host']}"
        except (ValueError, KeyError, TypeError):
            return "holder unknown"

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunnerLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(ws: Workspace) -> str | None:
    """Who holds the runner lock right now, or None if nobody does."""
    lock = RunnerLock(ws)
    try:
        lock.acquire()
    except RunnerLocked as exc:
        return str(exc)
    lock.release()
    return None


@dataclass
class RunSummary:
    """What `cockpit run` did: sweep counts plus the mode it ran in."""

    mode: Mode
    sweep: SweepResult

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, **self.sweep.counts(), "plan": self.sweep.log}


def run_once(
    ws: Workspace,
    store: Store,
    mode: Mode | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> RunSummary:
    """Drain the queue once under the runner lock and return what happened.

    In dry-run nothing is ingested, moved or written: the summary is the plan. Raises
    RunnerLocked if another runner holds the workspace.
    """
    mode = mode or ws.config.runner.mode
    with RunnerLock(ws):
        sweeper = Sweeper(ws, store, commit=mode is not Mode.DRY_RUN, on_event=on_event)
        return RunSummary(mode, sweeper.sweep())


def run_forever(
    ws: Workspace,
    store: Store,
    stop: threading.Event,
    mode: Mode | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_sweep: Callable[[SweepResult], None] | None = None,
    rescan_seconds: float = RESCAN_SECONDS,
) -> RunSummary:
    """Sweep on start, then on every batch of watch events and every `rescan_seconds`,
    until `stop` is set. Each entry is its own transaction, so stopping between sweeps
    or entries leaves nothing half-written."""
    import watchfiles

    mode = mode or ws.config.runner.mode
    total = SweepResult()
    with RunnerLock(ws):
        sweeper = Sweeper(ws, store, commit=mode is not Mode.DRY_RUN, on_event=on_event)
        ws.ensure_dirs()
        while not stop.is_set():
            result = sweeper.sweep()
            total.merge(result)
            if on_sweep is not None:
                on_sweep(result)
            if mode is Mode.DRY_RUN:
                break
            for _changes in watchfiles.watch(
                ws.queue_dir("new"),
                stop_event=stop,
                rust_timeout=int(rescan_seconds * 1000),
                yield_on_timeout=True,
                debounce=200,
                raise_interrupt=False,
            ):
                break  # a hint or a timeout: sweep again
    return RunSummary(mode, total)
