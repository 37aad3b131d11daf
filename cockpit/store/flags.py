"""The progress monitor's flags on a work package (issue 15), as the projection keeps them:
raised by a `monitor_flagged` event, gone with a `monitor_dismissed` one or with the WP's
next progress. What counts as progress depends on why the WP was flagged, and is decided
here from events alone, so that replay arrives at the same open flags.

A flag's reasons (`REASONS`) and the progress that clears each:

- `stall` (no event of its own for too long): any event of the WP's own;
- `looping` (withheld by the gate again and again): the WP admitted, rolled back or closed;
- `agent_failing` (its agent's runs failing or timing out in a row): a run of its agent
  that ends well, or any change of state;
- `tier_mismatch` (a light WP whose change touches many files): a gate run that counts no
  more changed files than the flag's `limit`, or the WP rolled back or closed.

Monitor events are not progress themselves: they leave the WP's `last_seq` as it was.
"""

from __future__ import annotations

from typing import Any

from cockpit.domain import EventType, State
from cockpit.store.events import Event

STALL, LOOPING, AGENT_FAILING, TIER_MISMATCH = "stall", "looping", "agent_failing", "tier_mismatch"
REASONS = (STALL, LOOPING, AGENT_FAILING, TIER_MISMATCH)
MONITOR_EVENTS = frozenset({EventType.MONITOR_FLAGGED, EventType.MONITOR_DISMISSED})

_CLOSED = frozenset({State.COMPLETE.value, State.CANCELLED.value})
_OUT_OF_LOOP = _CLOSED | {State.ACCEPTED.value, State.ROLLED_BACK.value}


def flag_of(event: Event) -> dict[str, Any]:
    """The open flag a `monitor_flagged` event raises, as the projection keeps it."""
    payload = event.payload
    flag = {
        "flag": payload["flag"],
        "reason": payload["reason"],
        "detail": payload.get("detail"),
        "seq": event.seq,
    }
    if "limit" in payload:
        flag["limit"] = payload["limit"]
    return flag


def after_monitor_event(flags: list[dict[str, Any]], event: Event) -> list[dict[str, Any]]:
    """The open flags after a monitor event: one more, or one dismissed."""
    if event.type == EventType.MONITOR_FLAGGED:
        named = event.payload["flag"]
        return [f for f in flags if f["flag"] != named] + [flag_of(event)]
    return [f for f in flags if f["flag"] != event.payload.get("flag")]


def still_open(flag: dict[str, Any], event: Event, problem: str | None) -> bool:
    """Whether `flag` stays open after `event`, another event of its WP (`problem`: what
    the event says went wrong with the WP's agent, for an agent's exit)."""
    to = (event.payload.get("transition") or {}).get("to")
    if to in _CLOSED:
        return False
    reason = flag.get("reason")
    if reason == STALL:
        return False
    if reason == LOOPING:
        return to not in _OUT_OF_LOOP
    if reason == AGENT_FAILING:
        ended_well = event.type == EventType.AGENT_EXITED and problem is None
        return to is None and not ended_well
    if reason == TIER_MISMATCH:
        changed = event.payload.get("changed_files")
        if event.type == EventType.VERIFY_COMPLETED and isinstance(changed, list):
            limit = flag.get("limit")
            if isinstance(limit, int) and len(changed) <= limit:
                return False
        return to != State.ROLLED_BACK.value
    return True
