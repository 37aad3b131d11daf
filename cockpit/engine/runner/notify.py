"""Telling the owner when a work package needs them (issue 12): which events do, and the
runner's hook (`notify.command` in cockpit.yaml), run with the event as JSON on stdin.

The hook is the owner's own program from the config. It gets the event on stdin and
nothing else: never an argument built from what an agent wrote. It runs detached from
the loop (the runner never waits on it) and is killed after `notify.timeout_s`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, Store

log_ = logging.getLogger(__name__)
HOOKS_MAX = 8  # hooks alive at once; past that a notification is dropped (and logged)


def needs_owner(event: Event, store: Store | None = None) -> str | None:
    """The reason `event` needs the owner (one of `notify.reasons`), or None. A scope
    confirmation needs them only while the WP still waits on it (no standing go)."""
    payload = event.payload
    if event.type == EventType.SCOPE_CONFIRMED:
        wp = store.work_package(event.work_package) if store and event.work_package else None
        waiting = wp is None or wp["state"] == "scope_confirmed" or bool(wp.get("scope_declined"))
        return "scope_waiting" if waiting else None
    if event.type == EventType.VERIFY_COMPLETED and payload.get("outcome") in ("blocked", "failed"):
        return "claim_withheld"
    if event.type == EventType.AGENT_FAILED:
        return "agent_failed"
    if event.type == EventType.AGENT_EXITED and payload.get("timed_out"):
        return "agent_timed_out"
    if event.type == EventType.MONITOR_FLAGGED:
        return "monitor_flagged"
    return None


def message(event: Event, reason: str, store: Store | None = None) -> dict[str, Any]:
    """The document a hook reads on stdin (also what the TUI words its notice from)."""
    wp = store.work_package(event.work_package) if store and event.work_package else None
    return {
        "schema": "cockpit.notification/v1",
        "reason": reason,
        "work_package": event.work_package,
        "title": (wp.get("body") or {}).get("title") if wp else None,
        "state": wp["state"] if wp else None,
        "event": {
            "seq": event.seq,
            "type": event.type,
            "ts": event.ts,
            "principal": event.principal,
            "entry_id": event.entry_id,
            "payload": event.payload,
        },
    }


class Notifier:
    """Runs `notify.command` for each event that needs the owner (see the module text)."""

    def __init__(self, ws: Workspace, store: Store) -> None:
        self.ws = ws
        self.store = store
        self.alive: list[tuple[subprocess.Popen[bytes], float]] = []
        self.sent = 0

    def __call__(self, event: Event) -> None:
        settings = self.ws.config.notify
        reason = needs_owner(event, self.store)
        if settings.command is None or reason is None or reason not in settings.reasons:
            return
        self.reap()
        if len(self.alive) >= HOOKS_MAX:
            log_.warning("notify.command: %d hooks still running; dropped one", HOOKS_MAX)
            return
        data = json.dumps(message(event, reason, self.store), sort_keys=True).encode() + b"\n"
        try:
            proc = subprocess.Popen(
                settings.command,
                cwd=self.ws.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            log_.warning("notify.command could not start: %s", exc)
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(data)
        with contextlib.suppress(OSError):
            proc.stdin.close()
        self.alive.append((proc, time.monotonic() + settings.timeout_s))
        self.sent += 1

    def reap(self, *, final: bool = False) -> None:
        """Forget finished hooks; kill those past their time (all of them when `final`)."""
        now = time.monotonic()
        keep = []
        for proc, deadline in self.alive:
            if proc.poll() is not None:
                continue
            if final:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.0, min(deadline - now, 2.0)))
            if proc.poll() is None and (final or now >= deadline):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                continue
            if proc.poll() is None:
                keep.append((proc, deadline))
        self.alive = keep
