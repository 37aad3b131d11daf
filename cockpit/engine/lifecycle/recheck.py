"""What replay re-checks (SPEC 10.5): every state change against the lifecycle table, every
entry-caused event against its entry (kind, principal, capability), and every delivery
against what `cockpit deliver` requires (capability, state, the verified head at
acceptance, once). A row that could not have been produced by ingest or an action fails
replay, naming its seq.

The checks read only the events and the config: they are what an outsider runs on a copy
of the record to see that nobody wrote a state the rules would never have allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from cockpit.domain import (
    ENTRY_EVENT_TYPES,
    KIND_CAPABILITIES,
    Capability,
    EventType,
    Kind,
    State,
)
from cockpit.engine.config.model import Config
from cockpit.engine.lifecycle.transitions import (
    REVIEW_TRIGGERS,
    VERIFY_OUTCOME_TRIGGERS,
    IllegalTransition,
    Trigger,
    transition,
)
from cockpit.store import Event

_FIXED: dict[str, Trigger] = {
    EventType.TASK_CREATED: Trigger.BOOK,
    EventType.DISPATCHED: Trigger.DISPATCH,
    EventType.SCOPE_CONFIRMED: Trigger.SCOPE_CONFIRMATION,
    EventType.CLAIM_PACKET_CREATED: Trigger.CLAIM,
    EventType.VERIFY_STARTED: Trigger.VERIFY_START,
    EventType.RECOVERY_PACKET_CREATED: Trigger.RECOVERY,
    EventType.TASK_COMPLETED: Trigger.REVIEW_ACCEPTED,
    EventType.ROLLBACK_COMPLETED: Trigger.ROLLBACK,
    EventType.TASK_CANCELLED: Trigger.CANCEL,
}


@dataclass(frozen=True)
class Recheck:
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def _trigger(event: Event) -> Trigger | None:
    if event.type in _FIXED:
        return _FIXED[event.type]
    if event.type == EventType.REVIEW_RECORDED:
        verdict = event.payload.get("verdict")
        trigger = REVIEW_TRIGGERS.get(str(verdict))
        return None if trigger is Trigger.REVIEW_ACCEPTED else trigger
    if event.type == EventType.VERIFY_COMPLETED:
        return VERIFY_OUTCOME_TRIGGERS.get(str(event.payload.get("outcome")))
    return None


_STATES = {state.value: state for state in State}
_KINDS = {kind.value: kind for kind in Kind}


def _state(value: object) -> State | None:
    return _STATES.get(str(value)) if value is not None else None


class StateBook(Protocol):
    """Where the re-check keeps the state each WP is in (a state's value, or None): a
    dict, or a book that keeps only some in memory (replay's, whatever the WP count)."""

    def get(self, wp: str, /) -> str | None: ...

    def __setitem__(self, wp: str, state: str | None, /) -> None: ...


class Rechecker:
    """`recheck` fed one event at a time, in seq order (replay feeds it as it reads the
    log, so the record is never held whole): `result` is the first row no rule could
    have produced, once `see` has met it; later events are not looked at."""

    def __init__(self, config: Config, states: StateBook | None = None) -> None:
        self.config = config
        self.states: StateBook = states if states is not None else {}
        self.result = Recheck(True)
        self._held: dict[str, frozenset[Capability]] = {}

    def held(self, principal: str) -> frozenset[Capability]:
        """`config.capabilities(principal)`, worked out once per principal."""
        found = self._held.get(principal)
        if found is None:
            found = self._held[principal] = self.config.capabilities(principal)
        return found

    def see(self, event: Event) -> None:
        if not self.result.ok:
            return
        problem = _problem(event, self.states, self.held)
        if problem is None and event.type in _DELIVERY_TYPES:
            problem = _delivery_problem(event, self.states, self.held)
        if problem is not None:
            reason = f"event {event.seq} ({event.type}): {problem}"
            self.result = Recheck(False, event.seq, reason)
            return
        move = event.payload.get("transition")
        if event.work_package is not None and isinstance(move, dict):
            self.states[event.work_package] = _state(move.get("to"))
        if event.work_package is not None and event.type in _TRACKED:
            _track(event, self.states)


def recheck(events: Iterable[Event], config: Config) -> Recheck:
    """Re-check the whole record (any iterable, read once, in seq order); the first row
    no rule could have produced, and why."""
    checker = Rechecker(config)
    for event in events:
        checker.see(event)
        if not checker.result.ok:
            break
    return checker.result


def _problem(
    event: Event, states: StateBook, held: Callable[[str], frozenset[Capability]]
) -> str | None:
    move = event.payload.get("transition")
    wp = event.work_package
    if isinstance(move, dict) and wp is not None:
        current = _state(states.get(wp))
        recorded_from = _state(move.get("from"))
        target = _state(move.get("to"))
        if target is None:
            return f"it moves {wp} to {move.get('to')!r}, which is no state"
        if recorded_from != current:
            return f"it moves {wp} from {move.get('from')}, but {wp} was {current}"
        if event.type == EventType.OVERRIDE_APPLIED:
            if target is State.VERIFYING or target == current:
                return f"an override cannot move {wp} to {target.value}"
        else:
            trigger = _trigger(event)
            if trigger is None:
                return f"a {event.type} event never changes a state"
            try:
                allowed = transition(current, trigger)
            except IllegalTransition as exc:
                return str(exc)
            if allowed is not target:
                return f"{trigger.value} leads to {allowed.value}, not {target.value}"
    entry = event.payload.get("entry")
    if isinstance(entry, dict) and event.type != EventType.ENTRY_REJECTED:
        return _entry_problem(event, entry, held)
    return None


def _entry_problem(
    event: Event, entry: dict[str, object], held: Callable[[str], frozenset[Capability]]
) -> str | None:
    kind = _KINDS.get(str(entry.get("kind")))
    if kind is None:
        return f"its entry has no kind Cockpit knows ({entry.get('kind')!r})"
    if ENTRY_EVENT_TYPES[kind] != event.type:
        return f"a {kind.value} entry is recorded as {ENTRY_EVENT_TYPES[kind]}, not {event.type}"
    if entry.get("principal") != event.principal or entry.get("id") != event.entry_id:
        return "the event's principal or entry id is not its entry's"
    if entry.get("work_package") != event.work_package:
        return "the event's work package is not its entry's"
    holds = held(str(event.principal))
    if not any(cap in holds for cap in KIND_CAPABILITIES[kind]):
        return f"{event.principal} lacks the capability a {kind.value} entry needs"
    return None


# Delivery (SPEC 11.3): a `delivered` row must be one `cockpit deliver` could have made: by
# a principal holding `deliver`, of a WP in `complete`, of the head a review accepted after
# the WP's last gate run admitted it (with no override since: cockpit.engine.repo.verified),
# and once (a `pr` may follow a `push`). What that needs of the WP's past is kept beside its
# state, in the same book (so replay's memory stays bounded), under a key no WP id has.
_DELIVERY_TYPES = frozenset({EventType.DELIVERED, EventType.DELIVERY_REFUSED})
_TRACKED = frozenset(
    {
        EventType.VERIFY_COMPLETED,
        EventType.OVERRIDE_APPLIED,
        EventType.TASK_COMPLETED,
        EventType.DELIVERED,
    }
)


def _key(wp: str) -> str:
    return f"\0delivery\0{wp}"


def _facts(states: StateBook, wp: str) -> dict[str, Any]:
    kept = states.get(_key(wp))
    found = json.loads(kept) if kept else {}
    return found if isinstance(found, dict) else {}


def _track(event: Event, states: StateBook) -> None:
    wp = str(event.work_package)
    facts = _facts(states, wp)
    if event.type == EventType.VERIFY_COMPLETED:
        head = event.payload.get("head")
        admitted = event.payload.get("outcome") == "success" and head
        facts["admitted"] = str(head) if admitted else None
    elif event.type == EventType.OVERRIDE_APPLIED:
        facts["admitted"] = facts["accepted"] = None
    elif event.type == EventType.TASK_COMPLETED:
        facts["accepted"] = facts.get("admitted")
    else:
        facts["vias"] = [*facts.get("vias", []), str(event.payload.get("via"))]
    states[_key(wp)] = json.dumps(facts)


def _delivery_problem(
    event: Event, states: StateBook, held: Callable[[str], frozenset[Capability]]
) -> str | None:
    if Capability.DELIVER not in held(str(event.principal)):
        return f"{event.principal} lacks the deliver capability"
    wp = event.work_package
    if event.type != EventType.DELIVERED:
        return None
    if wp is None:
        return "a delivery of no work package"
    state = _state(states.get(wp))
    if state is not State.COMPLETE:
        return (
            f"{wp} was {state.value if state else None}; only a complete work package is delivered"
        )
    facts = _facts(states, wp)
    accepted = facts.get("accepted")
    if not accepted:
        return (
            f"{wp} has no head accepted after its last admitting gate run, with no override since"
        )
    if event.payload.get("head") != accepted:
        head = event.payload.get("head")
        return f"it delivers {head!r}, not the verified head at acceptance {accepted}"
    vias = facts.get("vias") or []
    if vias and not (event.payload.get("via") == "pr" and all(v == "push" for v in vias)):
        return f"{wp} was already delivered by {vias[-1]} (only a pr may follow a push)"
    return None
