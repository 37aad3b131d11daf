"""The progress monitor's flags on a work package (issue 15), as the projection keeps them:
raised by a `monitor_flagged` event, gone with a `monitor_dismissed` one or with the WP's
next progress. What counts as progress depends on why the WP was flagged, and is decided
here from events alone (`cleared_by`, applied by `CLEARED_SQL` in every update of a WP's
row), so that replay arrives at the same open flags.

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

import functools
from typing import Any

from cockpit.domain import TERMINAL_STATES, EventType, State
from cockpit.store.events import Event

STALL, LOOPING, AGENT_FAILING, TIER_MISMATCH = "stall", "looping", "agent_failing", "tier_mismatch"
REASONS = (STALL, LOOPING, AGENT_FAILING, TIER_MISMATCH)
MONITOR_EVENTS = frozenset({EventType.MONITOR_FLAGGED, EventType.MONITOR_DISMISSED})

_CLOSED = frozenset(s.value for s in TERMINAL_STATES)
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


def cleared_by(event: Event, problem: str | None) -> str:
    """The reasons whose flags `event`, an event of the flagged WP's own, clears, each
    between spaces (a tier mismatch is also cleared by the count of `changed_count`)
    (`problem`: what an agent's exit says went wrong, if anything)."""
    to = (event.payload.get("transition") or {}).get("to")
    return _cleared(to, event.type == EventType.AGENT_EXITED and problem is None)


@functools.cache
def _cleared(to: str | None, ran_well: bool) -> str:
    if to in _CLOSED:
        return " " + " ".join(REASONS) + " "
    cleared = [STALL]
    if to in _OUT_OF_LOOP:
        cleared.append(LOOPING)
    if to is not None or ran_well:
        cleared.append(AGENT_FAILING)
    if to == State.ROLLED_BACK.value:
        cleared.append(TIER_MISMATCH)
    return " " + " ".join(cleared) + " "


def changed_count(event: Event) -> int | None:
    """The files a gate run counted as changed (None for other events)."""
    changed = event.payload.get("changed_files")
    if event.type == EventType.VERIFY_COMPLETED and isinstance(changed, list):
        return len(changed)
    return None


# The open flags kept after an event of the WP's own, in SQL so the board's every update
# pays nothing while a WP has none (most never do); its two parameters are `cleared_by`
# and `changed_count` of the event. A tier mismatch's flag goes once a gate run counts no
# more changed files than its `limit`.
CLEARED_SQL = (
    "monitor_flags = CASE WHEN monitor_flags IS NULL THEN NULL ELSE ("
    "SELECT CASE WHEN count(*) THEN json_group_array(json(value)) END "
    "FROM json_each(monitor_flags) "
    "WHERE instr(?, ' ' || json_extract(value, '$.reason') || ' ') = 0 "
    f"AND NOT (json_extract(value, '$.reason') = '{TIER_MISMATCH}' "
    "AND coalesce(? <= json_extract(value, '$.limit'), 0))) END"
)
