"""What the agents cost (SPEC 9.1 metrics): tokens and dollars per WP, per lane, per
accepted WP, and spent on work the gate withheld, from `agent_exited.payload.usage` alone.

Each share keeps its denominator (`{"num": a, "den": b}`); dollars are decimal strings
(payloads hold no floats). A run whose CLI reported no cost is counted apart
(`runs_with_cost`), never as free.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.drivers.base import recorded_cost
from cockpit.store import Event

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens")
_ADMITTED = frozenset({"accepted", "complete"})
_WITHHELD = frozenset({"blocked", "failed"})


def _dollars(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class _Tally:
    def __init__(self) -> None:
        self.tokens = dict.fromkeys(TOKENS, 0)
        self.cost = Decimal(0)
        self.runs = 0
        self.costed = 0

    def add(self, usage: dict[str, Any]) -> Decimal | None:
        self.runs += 1
        for key in TOKENS:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                self.tokens[key] += value
        amount = recorded_cost(usage)
        if amount is not None:
            self.cost += amount
            self.costed += 1
        return amount

    def to_json(self) -> dict[str, Any]:
        return {
            **self.tokens,
            "cost_usd": _dollars(self.cost),
            "runs": self.runs,
            "runs_with_cost": self.costed,
        }


def usage_metrics(events: list[Event], states: dict[str, str]) -> dict[str, Any]:
    """The `usage` section of `cockpit metrics`."""
    lanes = {e.seq: str(e.payload.get("lane")) for e in events if e.type == EventType.AGENT_STARTED}
    total, by_wp, by_lane = _Tally(), dict[str, _Tally](), dict[str, _Tally]()
    pending: dict[str, list[Decimal]] = {}  # per WP: costs of runs not yet followed by a verdict
    withheld, decided = Decimal(0), Decimal(0)
    for event in events:
        wp = event.work_package or ""
        if event.type == EventType.VERIFY_COMPLETED and event.payload.get("outcome") not in (
            None,
            "skipped",
        ):
            spent = sum(pending.pop(wp, []), Decimal(0))
            decided += spent
            if event.payload.get("outcome") in _WITHHELD:
                withheld += spent
            continue
        usage = event.payload.get("usage")
        if event.type != EventType.AGENT_EXITED or not isinstance(usage, dict):
            continue
        total.add(usage)
        by_wp.setdefault(wp, _Tally()).add(usage)
        lane = lanes.get(int(event.payload.get("launch") or 0), "unknown")
        amount = by_lane.setdefault(lane, _Tally()).add(usage)
        if amount is not None:
            pending.setdefault(wp, []).append(amount)
    accepted = [wp for wp, tally in by_wp.items() if states.get(wp) in _ADMITTED]
    accepted_cost = sum((by_wp[wp].cost for wp in accepted), Decimal(0))
    accepted_tokens = sum(
        by_wp[wp].tokens["input_tokens"] + by_wp[wp].tokens["output_tokens"] for wp in accepted
    )
    return {
        "total": total.to_json(),
        "runs_with_cost": {"num": total.costed, "den": total.runs},
        "by_work_package": {wp: t.to_json() for wp, t in sorted(by_wp.items())},
        "by_lane": {lane: t.to_json() for lane, t in sorted(by_lane.items())},
        "cost_per_accepted_wp": {"num": _dollars(accepted_cost), "den": len(accepted)},
        "tokens_per_accepted_wp": {"num": accepted_tokens, "den": len(accepted)},
        "cost_on_withheld": {"num": _dollars(withheld), "den": _dollars(decided)},
    }
