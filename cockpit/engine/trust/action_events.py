"""Which events a signed action may cause, and what its signed `args` say of them (SPEC
10.4: an action signature counts for an event only if the action document "equals the
event").

Every action a person signs (cockpit.engine.actions, canon, delivery) appends its events
in one transaction, so they stand together in the chain; `ACTION_EVENTS` names, for each
action, the event types it appends (`allowed_more`: each at most once, but
`prune_worktrees`, which appends one `worktree_pruned` per worktree its args list, and one
event in all for an action that ends one of several ways). `action_problem` checks one
event against the signed document: the action may produce that event type, and the
payload says what the signed args say (the verdict, the state moved to, the head
delivered...). A signature over a `review` can thus never vouch for a `delivered` row, nor
one over a delivery of head A for a `delivered` of head B.

The names are the actions' own (`Act(...)`, `trust_actions.sign_with(...)`): this layer
may not import the modules that define them, so they are spelled out here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cockpit.domain import EventType

ACTION_EVENTS: dict[str, frozenset[str]] = {
    "dispatch": frozenset({EventType.DISPATCHED}),
    "recover": frozenset({EventType.RECOVERY_PACKET_CREATED}),
    "review": frozenset({EventType.REVIEW_RECORDED, EventType.TASK_COMPLETED}),
    "override": frozenset({EventType.OVERRIDE_APPLIED}),
    "cancel": frozenset({EventType.TASK_CANCELLED}),
    "veto": frozenset({EventType.VETO_CHANGED}),
    "dismiss": frozenset({EventType.ADVISORY_DISMISSED, EventType.MONITOR_DISMISSED}),
    "verify": frozenset({EventType.VERIFY_STARTED, EventType.VERIFY_COMPLETED}),
    "rollback": frozenset({EventType.ROLLBACK_COMPLETED, EventType.ROLLBACK_FAILED}),
    "commission": frozenset({EventType.CANON_GATE_EVALUATED, EventType.CANDIDATE_COMMISSIONED}),
    "approve_setup": frozenset({EventType.SETUP_APPROVED}),
    "prune_worktrees": frozenset({EventType.WORKTREE_PRUNED}),
    "deliver": frozenset({EventType.DELIVERED, EventType.DELIVERY_REFUSED}),
}

# (args key, payload key): the payload must hold what the signed args hold.
_SAME: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("dispatch", EventType.DISPATCHED): (("to", "to"),),
    ("recover", EventType.RECOVERY_PACKET_CREATED): (
        ("owner", "recovery_owner"),
        ("next_action", "next_action"),
    ),
    ("review", EventType.REVIEW_RECORDED): (("verdict", "verdict"), ("findings", "findings")),
    ("override", EventType.OVERRIDE_APPLIED): (("reason", "reason"),),
    ("cancel", EventType.TASK_CANCELLED): (("reason", "reason"),),
    ("veto", EventType.VETO_CHANGED): (("reason", "reason"),),
    ("verify", EventType.VERIFY_STARTED): (("mode", "mode"),),
    ("rollback", EventType.ROLLBACK_COMPLETED): (("reason", "reason"),),
    ("rollback", EventType.ROLLBACK_FAILED): (("reason", "reason"),),
    ("commission", EventType.CANON_GATE_EVALUATED): (("candidate", "candidate"),),
    ("commission", EventType.CANDIDATE_COMMISSIONED): (("candidate", "candidate"),),
    ("approve_setup", EventType.SETUP_APPROVED): (
        ("target_repo", "target_repo"),
        ("script", "script"),
        ("commit", "commit"),
        ("sha256", "sha256"),
    ),
    ("deliver", EventType.DELIVERED): (("via", "via"), ("head", "head"), ("base", "base")),
    ("deliver", EventType.DELIVERY_REFUSED): (("via", "via"),),
}


def _moved_to(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    moved = payload.get("transition")
    to = moved.get("to") if isinstance(moved, dict) else None
    if to != args.get("to"):
        return f"it moves the WP to {to!r}, but the signed override names {args.get('to')!r}"
    return None


def _completed(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    del payload
    if args.get("verdict") != "accepted":
        return f"the signed review's verdict is {args.get('verdict')!r}, which completes nothing"
    return None


def _veto(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    if payload.get("active") is not (not args.get("lift")):
        return "it raises or lifts the veto otherwise than the signed action says"
    return None


def _dismissed(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    for key in ("advisory", "flag"):
        if key in args and payload.get(key) != args[key]:
            return f"it dismisses {payload.get(key)!r}, but the signed action names {args[key]!r}"
    return None


def _delivered(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    # The base tip the person confirmed: `expected_base_sha` when the merge queue had to
    # start over on a base that moved meanwhile (then `base_sha` is the tip it landed on).
    expected = payload.get("expected_base_sha", payload.get("base_sha"))
    if expected != args.get("base_sha"):
        return (
            f"it expected the base at {expected!r}, but the signed delivery names "
            f"{args.get('base_sha')!r}"
        )
    return None


def _refused(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    for key in ("head", "base"):
        if key in payload and payload[key] != args.get(key):
            return f"its {key} is {payload[key]!r}, but the signed delivery names {args.get(key)!r}"
    return None


def _pruned(args: dict[str, Any], payload: dict[str, Any]) -> str | None:
    listed = [r.get("work_package") for r in args.get("remove") or [] if isinstance(r, dict)]
    if payload.get("work_package") not in listed:
        return f"it prunes {payload.get('work_package')!r}, which the signed prune does not list"
    return None


_CHECKS: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, Any]], str | None]] = {
    ("override", EventType.OVERRIDE_APPLIED): _moved_to,
    ("review", EventType.TASK_COMPLETED): _completed,
    ("veto", EventType.VETO_CHANGED): _veto,
    ("dismiss", EventType.ADVISORY_DISMISSED): _dismissed,
    ("dismiss", EventType.MONITOR_DISMISSED): _dismissed,
    ("deliver", EventType.DELIVERED): _delivered,
    ("deliver", EventType.DELIVERY_REFUSED): _refused,
    ("prune_worktrees", EventType.WORKTREE_PRUNED): _pruned,
}


def action_problem(doc: dict[str, Any], event_type: str, payload: dict[str, Any]) -> str | None:
    """Why the signed action `doc` cannot have caused an event of `event_type` with
    `payload` (None: it can)."""
    action = doc.get("action")
    allowed = ACTION_EVENTS.get(str(action))
    if allowed is None:
        return f"the signed action {action!r} is not one Cockpit records"
    if event_type not in allowed:
        return f"a signed {action} action does not cause {event_type}"
    args = doc.get("args")
    if not isinstance(args, dict):
        return "the signed action has no args"
    key = (str(action), event_type)
    for arg, field in _SAME.get(key, ()):
        if payload.get(field) != args.get(arg):
            return (
                f"its {field} is {payload.get(field)!r}, but the signed action's {arg} is "
                f"{args.get(arg)!r}"
            )
    check = _CHECKS.get(key)
    return check(args, payload) if check is not None else None


# Actions that append one event of several types they may cause (the one that befell).
_ONE_OF = frozenset({"dismiss", "rollback", "deliver"})


# An event an action appends only right after another of its events.
_AFTER: dict[tuple[str, str], str] = {
    ("review", EventType.TASK_COMPLETED): EventType.REVIEW_RECORDED,
    ("verify", EventType.VERIFY_COMPLETED): EventType.VERIFY_STARTED,
    ("commission", EventType.CANDIDATE_COMMISSIONED): EventType.CANON_GATE_EVALUATED,
}


def allowed_more(
    doc: dict[str, Any],
    caused: dict[str, int],
    event_type: str,
    previous: tuple[str, dict[str, Any]] | None = None,
) -> bool:
    """Whether one signed action that has caused `caused` (type: count) so far, the last
    being `previous` (type, payload), may also cause an event of `event_type`: each type
    once (a prune: one `worktree_pruned` per worktree its args list), one event in all
    for an action that ends one way or another (a delivery is `delivered` or
    `delivery_refused`, never both), and a second event only after its first (a
    candidate commissioned only after a Canon Gate run that admitted it)."""
    action = str(doc.get("action"))
    if action in _ONE_OF and caused:
        return False
    after = _AFTER.get((action, event_type))
    if after is not None:
        if previous is None or previous[0] != after:
            return False
        summary = previous[1].get("summary")
        if event_type == EventType.CANDIDATE_COMMISSIONED and not (
            isinstance(summary, dict) and summary.get("commissioned") is True
        ):
            return False
    if action == "prune_worktrees" and event_type == EventType.WORKTREE_PRUNED:
        args = doc.get("args")
        listed = len(args.get("remove") or []) if isinstance(args, dict) else 0
        return caused.get(event_type, 0) < listed
    return caused.get(event_type, 0) < 1
