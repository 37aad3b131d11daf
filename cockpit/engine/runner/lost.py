"""Runs a dead runner started and never saw end (SPEC 9): each is recorded `lost` (its
process group killed if it still runs, so it can be started again), and its agent key is
revoked (SPEC 10.2)."""

from __future__ import annotations

from cockpit.domain import EventType
from cockpit.engine.canon import redaction
from cockpit.engine.runner import processes
from cockpit.engine.trust.entries import live_agent_keys
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import NewEvent, Store


def lost_runs(ws: Workspace, store: Store, running: set[str]) -> list[NewEvent]:
    """The events that close what a dead runner left open (none for `running` WPs)."""
    out: list[NewEvent] = []
    started = store.find_events(types=(EventType.AGENT_STARTED,), limit=1_000_000)
    ended = {
        e.payload.get("launch")
        for e in store.find_events(types=(EventType.AGENT_EXITED,), limit=1_000_000)
    }
    for event in started:
        if event.seq in ended:
            continue
        log = ws.root / str(event.payload.get("log", ""))
        killed = processes.kill_stale(log.with_suffix(".pid"), event.work_package or "", ws.root)
        out.append(
            NewEvent(
                EventType.AGENT_EXITED,
                event.work_package,
                event.principal,
                None,
                {
                    "launch": event.seq,
                    "principal": event.principal,
                    "exit_code": None,
                    "timed_out": False,
                    "lost": True,
                    "killed": killed,
                    "log": event.payload.get("log"),
                    "output_tail": redaction.redact(processes.output_tail(log)),
                },
            )
        )
    # Keys of runs a dead runner never saw end die with them (SPEC 10.2).
    for event in store.find_events(types=(EventType.AGENT_KEY_ISSUED,), limit=1_000_000):
        wp_id = event.work_package or ""
        live = {k.key.fingerprint for k in live_agent_keys(store, wp_id)}
        if event.payload.get("fingerprint") in live and wp_id not in running:
            payload = {
                **{k: event.payload.get(k) for k in ("principal", "work_package", "run")},
                "fingerprint": event.payload.get("fingerprint"),
                "public_key": event.payload.get("public_key"),
                "reason": "its run was lost when the runner died",
            }
            out.append(NewEvent(EventType.AGENT_KEY_REVOKED, wp_id, event.principal, None, payload))
    return out
