"""What a person chooses from when taking an action: the principals a WP can be dispatched
to, its advisories still open, the states an override may move it to. Read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cockpit.domain import Capability, EventType, State
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store


def eligible_assignees(ws: Workspace, wp: Mapping[str, Any]) -> list[str]:
    """Principals a WP can be dispatched to: they can claim, and serve the WP's lane when
    they name lanes at all."""
    out = []
    for name, principal in ws.config.principals.items():
        if not ws.config.has(name, Capability.CLAIM):
            continue
        if principal.lanes and wp.get("lane") not in principal.lanes:
            continue
        out.append(name)
    return out


def open_advisories(store: Store, wp_id: str) -> list[dict[str, Any]]:
    """The WP's advisories that have not been dismissed, newest first."""
    events = store.events(wp_id)
    dismissed = {
        e.payload.get("advisory") for e in events if e.type == EventType.ADVISORY_DISMISSED
    }
    issued = [e.payload for e in events if e.type == EventType.ADVISORY_ISSUED]
    return [a for a in reversed(issued) if a.get("id") not in dismissed]


def override_targets(wp: Mapping[str, Any]) -> list[str]:
    """The states an override of this WP may move it to (any other than its own, never
    the gate's transient `verifying`)."""
    return [s.value for s in State if s.value != wp["state"] and s is not State.VERIFYING]


def dismissable(store: Store, wp_id: str) -> list[dict[str, Any]]:
    """What a person may dismiss on the WP: its open advisories (newest first), then the
    progress monitor's open flags, each as {id, severity, prediction, reasons}."""
    wp = store.work_package(wp_id)
    flags = [
        {
            "id": flag.get("flag"),
            "severity": "monitor",
            "prediction": flag.get("reason"),
            "reasons": [str(flag.get("detail"))],
        }
        for flag in (wp.get("monitor_flags") or [] if wp else [])
    ]
    return open_advisories(store, wp_id) + flags
