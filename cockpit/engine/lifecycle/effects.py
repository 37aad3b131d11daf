"""What a trigger produces, written once for both ways it can arrive: an entry ingested from
the queue and a person's action through the CLI or the TUI.

Each function here is pure over (state, config, store reads) and returns either the events
to append or a `Problem` that the caller turns into its own kind of refusal (a rejection
code for an entry, `Refused`/`InputError` for an action).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from cockpit.domain import Capability, EventType, State, Verdict
from cockpit.engine.config.model import Config
from cockpit.engine.lifecycle.transitions import REVIEW_TRIGGERS, Trigger, transition
from cockpit.store import Event, NewEvent, Store
from cockpit.store.projections import node_id
from cockpit.store.rows import WorkPackageRow


class ProblemKind(Enum):
    UNKNOWN_PRINCIPAL = "unknown_principal"
    CANNOT_CLAIM = "cannot_claim"
    WRONG_LANE = "wrong_lane"
    NO_VETO = "no_veto"


@dataclass(frozen=True)
class Problem:
    """Why a trigger cannot take effect, in one sentence for a person."""

    kind: ProblemKind
    message: str


def dispatch_target_problem(
    config: Config, to: str, wp: WorkPackageRow | None, wp_id: str
) -> Problem | None:
    """Whether `to` can be given the WP: a declared principal that can claim and, when it
    names lanes, serves the WP's lane (checked only once the WP is known)."""
    if to not in config.principals:
        return Problem(
            ProblemKind.UNKNOWN_PRINCIPAL, f"dispatch target {to!r} is not declared in cockpit.yaml"
        )
    if not config.has(to, Capability.CLAIM):
        return Problem(
            ProblemKind.CANNOT_CLAIM,
            f"dispatch target {to} lacks the claim capability, so it could never deliver",
        )
    if wp is not None:
        lanes = config.principals[to].lanes
        if lanes and wp["lane"] not in lanes:
            return Problem(
                ProblemKind.WRONG_LANE,
                f"dispatch target {to} does not serve lane {wp['lane']!r} of {wp_id}",
            )
    return None


def veto_lift_problem(wp: WorkPackageRow, lift: bool) -> Problem | None:
    """A veto can only be lifted while one stands."""
    if lift and not wp["vetoed"]:
        return Problem(ProblemKind.NO_VETO, f"{wp['id']} has no active veto to lift")
    return None


def review_events(
    wp: WorkPackageRow,
    verdict: Verdict,
    principal: str,
    entry_id: str | None,
    payload: dict[str, Any],
) -> list[NewEvent]:
    """The events a review verdict appends (the transition is checked by the caller with
    `review_transition` first): `review_recorded`, and for `accepted` also
    `task_completed`; `rejected` requests a rollback; `diagnostic` changes no state."""
    wp_id = wp["id"]
    trigger = REVIEW_TRIGGERS.get(verdict.value)
    main = NewEvent(EventType.REVIEW_RECORDED, wp_id, principal, entry_id, payload)
    if trigger is None:
        return [main]
    state = State(wp["state"])
    move = {"from": state.value, "to": transition(state, trigger).value}
    if trigger is Trigger.REVIEW_ACCEPTED:
        completed: dict[str, Any] = {"transition": move}
        if entry_id is not None:
            completed["review"] = entry_id
        return [main, NewEvent(EventType.TASK_COMPLETED, wp_id, principal, entry_id, completed)]
    payload["transition"] = move
    if trigger is Trigger.REVIEW_REJECTED:
        payload["rollback_requested"] = True
    return [main]


def standing_go(config: Config, store: Store, wp_id: str) -> NewEvent:
    """The owner's go given in advance for the WP's lane (`lanes.<lane>.standing_go`):
    recorded as a review verdict `go` in the name of the principal who booked the WP."""
    booked = store.find_events(work_package=wp_id, types=(EventType.TASK_CREATED,))
    booker = booked[0].principal if booked else config.operator
    move = {
        "from": State.SCOPE_CONFIRMED.value,
        "to": transition(State.SCOPE_CONFIRMED, Trigger.REVIEW_GO).value,
    }
    payload = {
        "verdict": Verdict.GO.value,
        "findings": [],
        "standing": True,
        "policy_version": config.policy.version,
        "transition": move,
    }
    return NewEvent(EventType.REVIEW_RECORDED, wp_id, booker, None, payload)


def answer_edges(wp_events: list[Event], node: str, is_claim: bool) -> list[dict[str, str]]:
    """Edges SPEC 8 asks for beyond refs: a recovery points at the blocked (or failed)
    verify it answers; a new claim points at the recovery filed since the previous claim."""
    if is_claim:
        last_claim = max(
            (e.seq for e in wp_events if e.type == EventType.CLAIM_PACKET_CREATED), default=0
        )
        recoveries = [
            e
            for e in wp_events
            if e.type == EventType.RECOVERY_PACKET_CREATED and e.seq > last_claim
        ]
        return (
            [{"from": node, "to": node_id(recoveries[-1]), "rel": "answers"}] if recoveries else []
        )
    verifies = [
        e
        for e in wp_events
        if e.type == EventType.VERIFY_COMPLETED
        and e.payload.get("outcome") in ("blocked", "failed")
    ]
    return [{"from": node, "to": node_id(verifies[-1]), "rel": "recovers"}] if verifies else []


# The verdicts that those who worked on a WP may not give it (separation of duties).
DUTY_VERDICTS = frozenset({Verdict.GO, Verdict.ACCEPTED})


def duty_conflict(store: Store, wp_id: str, principal: str) -> str | None:
    """Separation of duties (SPEC 10.5): why `principal` may not give this WP's `go`, its
    acceptance review or an override (it was the WP's assignee, or filed a claim or
    evidence for it); None when it may."""
    for event in store.find_events(work_package=wp_id, types=(EventType.DISPATCHED,)):
        to = event.payload.get("to") or ((event.payload.get("entry") or {}).get("body") or {}).get(
            "to"
        )
        if to == principal:
            return f"{principal} was the assignee of {wp_id} (separation of duties)"
    for kind in ("claim", "evidence"):
        if any(row["principal"] == principal for row in store.entries(wp_id, kind)):
            return f"{principal} filed {kind} for {wp_id} (separation of duties)"
    return None
