"""Whether a person's action would be refused, and why, asked before anything else is
(SPEC 4, 8): the acting principal's capability, then what the WP's state allows. The
actions in `human` and `rollback` make these same checks before they append anything, so
`refusal` says what the action itself would say. Read-only: it records nothing, signs
nothing and runs no git.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cockpit.domain import Capability, EventType, State, Verdict
from cockpit.engine.actions.choices import open_advisories
from cockpit.engine.lifecycle.effects import DUTY_VERDICTS, duty_conflict
from cockpit.engine.lifecycle.transitions import (
    REVIEW_TRIGGERS,
    IllegalTransition,
    Trigger,
    allowed_triggers,
    transition,
)
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

# The capability each human action needs (SPEC 2.1 roles).
ACTION_CAPABILITIES: dict[str, Capability] = {
    "dispatch": Capability.DISPATCH,
    "verify": Capability.VERIFY,
    "recover": Capability.RECOVER,
    "review": Capability.REVIEW,
    "override": Capability.OVERRIDE,
    "cancel": Capability.CANCEL,
    "veto": Capability.VETO,
    "dismiss": Capability.DISMISS_ADVISORY,
    "rollback": Capability.ROLLBACK,
    "deliver": Capability.DELIVER,
}


def require(ws: Workspace, principal: str, capability: Capability) -> None:
    """Raise Refused unless `principal` is a principal of the workspace holding
    `capability` (every action checks this first)."""
    if principal not in ws.config.principals:
        raise Refused(f"{principal} is not a principal of this workspace")
    if not ws.config.has(principal, capability):
        raise Refused(f"{principal} lacks the {capability.value} capability")


def check_allowed(ws: Workspace, principal: str, action: str) -> None:
    """Raise Refused (naming the capability) if `principal` may not take `action`."""
    require(ws, principal, ACTION_CAPABILITIES[action])


def move(wp: WorkPackageRow, trigger: Trigger) -> dict[str, str]:
    """The transition `trigger` makes from the WP's state, as `{"from", "to"}`; raises
    Refused, naming the WP and the states it may fire from, when the table forbids it."""
    state = State(wp["state"])
    try:
        target = transition(state, trigger)
    except IllegalTransition as exc:
        raise Refused(f"{wp['id']}: {exc}") from None
    return {"from": state.value, "to": target.value}


def no_duty_conflict(store: Store, wp_id: str, by: str, what: str) -> None:
    """Raise Refused if separation of duties forbids `by` to do `what` on the WP."""
    conflict = duty_conflict(store, wp_id, by)
    if conflict is not None:
        raise Refused(f"{conflict}: it may not {what}")


def review_verdicts(store: Store, wp: Mapping[str, Any], by: str) -> list[Verdict]:
    """The verdicts `by` may record on the WP now, in the enum's order: those whose
    transition the lifecycle table allows from its state (`diagnostic` changes none, so
    always), less `go` and `accepted` when separation of duties forbids them."""
    state = State(wp["state"])
    conflicted = duty_conflict(store, wp["id"], by) is not None
    allowed = set(allowed_triggers(state))
    out = []
    for verdict in Verdict:
        trigger = REVIEW_TRIGGERS.get(verdict.value)
        if trigger is not None and trigger not in allowed:
            continue
        if verdict in DUTY_VERDICTS and conflicted:
            continue
        out.append(verdict)
    return out


def agent_running(store: Store, wp_id: str) -> bool:
    """An agent started on the WP has not exited yet."""
    events = store.events(wp_id)
    ended = {e.payload.get("launch") for e in events if e.type == EventType.AGENT_EXITED}
    return any(e.type == EventType.AGENT_STARTED and e.seq not in ended for e in events)


def rollback_ready(store: Store, wp: WorkPackageRow) -> None:
    """Raise Refused unless the WP can be rolled back now: it is failed and no agent of
    its is still running."""
    wp_id = wp["id"]
    if wp["state"] != State.FAILED:
        raise Refused(f"{wp_id} is {wp['state']}; only a failed work package is rolled back")
    if agent_running(store, wp_id):
        raise Refused(f"the agent of {wp_id} is still running; stop it before rolling back")


def _reviewable(ws: Workspace, store: Store, wp: WorkPackageRow, by: str) -> None:
    if not review_verdicts(store, wp, by):  # `diagnostic` is always legal: a safeguard
        raise Refused(f"{wp['id']} is {wp['state']}; no review verdict applies")


def _dismissable(ws: Workspace, store: Store, wp: WorkPackageRow, by: str) -> None:
    if not open_advisories(store, wp["id"]) and not wp.get("monitor_flags"):
        raise Refused(f"{wp['id']} has no advisory or monitor flag to dismiss")


def _deliverable(ws: Workspace, store: Store, wp: WorkPackageRow, by: str) -> None:
    """Only a complete WP is delivered (what else refuses a delivery, the delivery plane's
    `plan` says: it reads git)."""
    if wp["state"] != State.COMPLETE:
        raise Refused(f"{wp['id']} is {wp['state']}; only a complete work package is delivered")


StateCheck = Callable[[Workspace, Store, WorkPackageRow, str], object]

# What each action needs of the WP as it is, whatever the person would answer. A veto
# always has one thing to do (raise one, or lift the one that stands).
STATE_CHECKS: dict[str, StateCheck] = {
    "dispatch": lambda ws, store, wp, by: move(wp, Trigger.DISPATCH),
    "verify": lambda ws, store, wp, by: move(wp, Trigger.VERIFY_START),
    "recover": lambda ws, store, wp, by: move(wp, Trigger.RECOVERY),
    "review": _reviewable,
    "override": lambda ws, store, wp, by: no_duty_conflict(store, wp["id"], by, "override it"),
    "cancel": lambda ws, store, wp, by: move(wp, Trigger.CANCEL),
    "rollback": lambda ws, store, wp, by: rollback_ready(store, wp),
    "veto": lambda ws, store, wp, by: None,
    "dismiss": _dismissable,
    "deliver": _deliverable,
}


def check(ws: Workspace, store: Store, action: str, wp_id: str, by: str) -> WorkPackageRow:
    """Raise what `by` taking `action` on `wp_id` now would be refused with before any
    input is given: Refused (the capability, or what the WP's state allows) or NotFound.
    Returns the WP as read."""
    check_allowed(ws, by, action)
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    STATE_CHECKS[action](ws, store, wp, by)
    return wp


def refusal(ws: Workspace, store: Store, action: str, wp_id: str, by: str) -> str | None:
    """Why `by` taking `action` on `wp_id` now would be refused, in the action's own
    words, or None when it would not be (what the person then answers may still be)."""
    try:
        check(ws, store, action, wp_id, by)
    except (Refused, NotFound) as exc:
        return str(exc)
    return None
