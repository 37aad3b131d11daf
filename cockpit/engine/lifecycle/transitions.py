"""The work-package lifecycle (SPEC 4) as one table and one pure function.

`transition(state, trigger)` is the only place that decides whether a state change is
legal; ingest, human actions and the gate all go through it.
"""

from __future__ import annotations

from enum import StrEnum

from cockpit.domain import TERMINAL_STATES, Kind, State
from cockpit.errors import Refused


class Trigger(StrEnum):
    BOOK = "book"
    DISPATCH = "dispatch"
    SCOPE_CONFIRMATION = "scope_confirmation"
    REVIEW_GO = "review_go"
    CLAIM = "claim"
    VERIFY_START = "verify_start"
    VERIFY_SUCCESS = "verify_success"
    VERIFY_BLOCKED = "verify_blocked"
    VERIFY_FAILED = "verify_failed"
    VERIFY_SKIPPED = "verify_skipped"
    RECOVERY = "recovery"
    REVIEW_REVISION_REQUIRED = "review_revision_required"
    REVIEW_ACCEPTED = "review_accepted"
    REVIEW_REJECTED = "review_rejected"
    ROLLBACK = "rollback"
    CANCEL = "cancel"


_NON_TERMINAL = frozenset(State) - TERMINAL_STATES

# trigger -> (states it may fire from, state it leads to). `None` is "no WP yet".
TABLE: dict[Trigger, tuple[frozenset[State | None], State]] = {
    Trigger.BOOK: (frozenset({None}), State.BOOKED),
    Trigger.DISPATCH: (frozenset({State.BOOKED, State.ROLLED_BACK}), State.DISPATCHED),
    Trigger.SCOPE_CONFIRMATION: (frozenset({State.DISPATCHED}), State.SCOPE_CONFIRMED),
    Trigger.REVIEW_GO: (frozenset({State.SCOPE_CONFIRMED}), State.IN_PROGRESS),
    Trigger.CLAIM: (frozenset({State.IN_PROGRESS, State.RECOVERING}), State.CLAIMED),
    Trigger.VERIFY_START: (frozenset({State.CLAIMED}), State.VERIFYING),
    Trigger.VERIFY_SUCCESS: (frozenset({State.VERIFYING}), State.ACCEPTED),
    Trigger.VERIFY_BLOCKED: (frozenset({State.VERIFYING}), State.BLOCKED),
    Trigger.VERIFY_FAILED: (frozenset({State.VERIFYING}), State.FAILED),
    Trigger.VERIFY_SKIPPED: (frozenset({State.VERIFYING}), State.CLAIMED),
    Trigger.RECOVERY: (frozenset({State.BLOCKED, State.FAILED}), State.RECOVERING),
    Trigger.REVIEW_REVISION_REQUIRED: (
        frozenset({State.CLAIMED, State.BLOCKED, State.ACCEPTED}),
        State.IN_PROGRESS,
    ),
    Trigger.REVIEW_ACCEPTED: (frozenset({State.ACCEPTED}), State.COMPLETE),
    Trigger.REVIEW_REJECTED: (frozenset({State.ACCEPTED, State.COMPLETE}), State.FAILED),
    Trigger.ROLLBACK: (frozenset({State.FAILED}), State.ROLLED_BACK),
    Trigger.CANCEL: (frozenset(_NON_TERMINAL), State.CANCELLED),
}


# How a trigger is named in a sentence for a person.
PHRASES: dict[Trigger, str] = {
    Trigger.BOOK: "booking",
    Trigger.DISPATCH: "a dispatch",
    Trigger.SCOPE_CONFIRMATION: "a scope confirmation",
    Trigger.REVIEW_GO: "a review 'go'",
    Trigger.CLAIM: "a claim",
    Trigger.VERIFY_START: "a verify",
    Trigger.VERIFY_SUCCESS: "a verify success",
    Trigger.VERIFY_BLOCKED: "a verify block",
    Trigger.VERIFY_FAILED: "a verify failure",
    Trigger.VERIFY_SKIPPED: "a skipped verify",
    Trigger.RECOVERY: "a recovery",
    Trigger.REVIEW_REVISION_REQUIRED: "a review 'revision_required'",
    Trigger.REVIEW_ACCEPTED: "a review 'accepted'",
    Trigger.REVIEW_REJECTED: "a review 'rejected'",
    Trigger.ROLLBACK: "a rollback",
    Trigger.CANCEL: "a cancel",
}

# A gate run's outcome (`verify_completed.outcome`) and the trigger it fires.
VERIFY_OUTCOME_TRIGGERS: dict[str, Trigger] = {
    "success": Trigger.VERIFY_SUCCESS,
    "blocked": Trigger.VERIFY_BLOCKED,
    "failed": Trigger.VERIFY_FAILED,
    "skipped": Trigger.VERIFY_SKIPPED,
}

# Review verdicts that move the lifecycle (diagnostic changes no state).
REVIEW_TRIGGERS: dict[str, Trigger] = {
    "go": Trigger.REVIEW_GO,
    "revision_required": Trigger.REVIEW_REVISION_REQUIRED,
    "accepted": Trigger.REVIEW_ACCEPTED,
    "rejected": Trigger.REVIEW_REJECTED,
}
# The trigger an entry fires where its kind alone says which (a review's follows its
# verdict, REVIEW_TRIGGERS; a scope confirmation fires only when `confirmed`).
KIND_TRIGGERS: dict[Kind, Trigger] = {
    Kind.WORK_PACKAGE: Trigger.BOOK,
    Kind.DISPATCH: Trigger.DISPATCH,
    Kind.SCOPE_CONFIRMATION: Trigger.SCOPE_CONFIRMATION,
    Kind.CLAIM: Trigger.CLAIM,
    Kind.RECOVERY: Trigger.RECOVERY,
}


class IllegalTransition(Refused):
    """`trigger` cannot fire from `state`; the message is one sentence for a person."""

    def __init__(self, state: State | None, trigger: Trigger) -> None:
        allowed, _ = TABLE[trigger]
        names = ", ".join(sorted(s.value for s in allowed if s is not None)) or "no state"
        where = f"in state {state.value}" if state is not None else "before the WP is booked"
        if trigger is Trigger.BOOK:
            message = f"the work package already exists ({state})"
        else:
            message = f"{PHRASES[trigger]} is not allowed {where} (only from: {names})"
        super().__init__(message)
        self.state = state
        self.trigger = trigger


def transition(state: State | None, trigger: Trigger) -> State:
    """The state `trigger` leads to from `state`; raises IllegalTransition otherwise."""
    allowed, target = TABLE[trigger]
    if state not in allowed:
        raise IllegalTransition(state, trigger)
    return target


def allowed_triggers(state: State | None) -> list[Trigger]:
    """Triggers that may fire from `state` (for menus and help)."""
    return [t for t, (sources, _) in TABLE.items() if state in sources]


def override(state: State, target: State) -> State:
    """An owner's override may move any state to any state (SPEC 4); it is never silent:
    the caller records `override_applied` and marks the WP overridden."""
    del state
    return target


def kind_refused(kind: Kind, state: str | None) -> str | None:
    """Why the lifecycle would refuse an entry of `kind` on a WP in `state` now (the
    IllegalTransition's sentence), or None if it allows it or the kind moves no state."""
    trigger = KIND_TRIGGERS.get(kind)
    if trigger is None or state not in {s.value for s in State}:
        return None
    try:
        transition(State(state), trigger)
    except IllegalTransition as exc:
        return str(exc)
    return None
