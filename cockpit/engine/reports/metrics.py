"""Denominator-aware accounting (SPEC 8 `cockpit metrics`), computed from events alone.

Every share is `{"num": a, "den": b}`; nothing is reported as a bare percentage, and rows
with a missing outcome stay visible instead of silently leaving the denominator.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.reports.usage import usage_metrics
from cockpit.store import Event, Store

_ADMITTED = frozenset({"accepted", "complete"})


def share(num: int, den: int) -> dict[str, int]:
    return {"num": num, "den": den}


def cell_text(value: Any, *, per: bool = False) -> str:
    """A metric as people read it: a share as `a/b = x%` (`per`: an amount per item, as
    `a/b = x each`), a count map as `k n, ...`."""
    if isinstance(value, dict) and set(value) == {"num", "den"}:
        num, den = value["num"], value["den"]
        if per and isinstance(num, int):
            return f"{num:,}/{den} = {num / den:,.0f} each" if den else f"{num:,}/{den} = n/a"
        if isinstance(num, str) and isinstance(den, str):  # dollars over dollars
            shown = f"${num}/${den}"
            return f"{shown} = {100 * Decimal(num) / Decimal(den):.1f}%" if Decimal(den) else shown
        if isinstance(num, str):  # dollars over a count
            each = f"${Decimal(num) / den:.4f} each" if den else "n/a"
            return f"${num}/{den} = {each}"
        return f"{num}/{den} = {100 * num / den:.1f}%" if den else f"{num}/{den} = n/a"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def _ms(start: str, end: str) -> int:
    a = datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return int((b - a).total_seconds() * 1000)


def percentile(values: list[int], p: int) -> int | None:
    """Nearest-rank percentile (an observed value, never interpolated)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))
    return ordered[rank - 1]


def compute(events: list[Event], states: dict[str, str], tiers: dict[str, str]) -> dict[str, Any]:
    """The SPEC 8 metrics document from the events, the WPs' current states and tiers."""
    verifies = [e for e in events if e.type == EventType.VERIFY_COMPLETED]
    outcomes = Counter(e.payload.get("outcome") for e in verifies)
    known = sum(n for o, n in outcomes.items() if o)
    rows = {
        "all": len(verifies),
        "known_outcome": known,
        "success": outcomes["success"],
        "blocked": outcomes["blocked"],
        "failed": outcomes["failed"],
        "skipped": outcomes["skipped"],
        "missing_outcome": len(verifies) - known,
    }
    claimed_wps = {e.work_package for e in events if e.type == EventType.CLAIM_PACKET_CREATED}
    verified_wps = {e.work_package for e in verifies}
    complete = {wp for wp, state in states.items() if state == "complete"}
    success_wps = {e.work_package for e in verifies if e.payload.get("outcome") == "success"}
    overridden = {
        e.work_package
        for e in events
        if e.type == EventType.OVERRIDE_APPLIED
        and e.payload.get("transition", {}).get("to") in _ADMITTED
    }
    blocked = [e for e in verifies if e.payload.get("outcome") == "blocked"]
    return {
        "verify_rows": rows,
        "known_outcome_success_share": share(outcomes["success"], known),
        "all_row_success_share": share(outcomes["success"], len(verifies)),
        "task_verify_coverage": share(len(claimed_wps & verified_wps), len(claimed_wps)),
        "completed_with_verify": share(len(complete & success_wps), len(complete)),
        "overridden_admissions": len(overridden),
        "blocked_by_reason_class": dict(
            Counter(str(e.payload.get("blocked_reason_class")) for e in blocked)
        ),
        "blocked_by_predicate": dict(
            Counter(str(e.payload.get("blocking_predicate")) for e in blocked)
        ),
        "advisory": _advisory(events, verifies),
        "claim_to_decision_ms": _latency(events, verifies),
        "events_by_tier": dict(
            Counter(tiers.get(e.work_package, "unknown") for e in events if e.work_package)
        ),
        "usage": usage_metrics(events, states),
    }


def _first_decisions(verifies: list[Event]) -> dict[str, Event]:
    """Each claim's first non-skipped verify_completed."""
    first: dict[str, Event] = {}
    for e in verifies:
        claim = (e.payload.get("claim") or {}).get("id")
        if claim and e.payload.get("outcome") not in (None, "skipped") and claim not in first:
            first[claim] = e
    return first


def _advisory(events: list[Event], verifies: list[Event]) -> dict[str, dict[str, int]]:
    decisions = _first_decisions(verifies)
    pairs = [
        (e.payload["prediction"], decisions[e.payload["claim"]].payload["outcome"])
        for e in events
        if e.type == EventType.ADVISORY_ISSUED and e.payload.get("claim") in decisions
    ]
    withheld = ("blocked", "failed")
    agree = sum(1 for p, o in pairs if (p == "safe_to_proceed") == (o == "success"))
    safe = [o for p, o in pairs if p == "safe_to_proceed"]
    risky = [o for p, o in pairs if p == "risky"]
    actual_withheld = [p for p, o in pairs if o in withheld]
    return {
        "agreement": share(agree, len(pairs)),
        "false_success": share(sum(1 for o in safe if o != "success"), len(safe)),
        "blocked_precision": share(sum(1 for o in risky if o in withheld), len(risky)),
        "blocked_recall": share(actual_withheld.count("risky"), len(actual_withheld)),
    }


def _latency(events: list[Event], verifies: list[Event]) -> dict[str, int | None]:
    decisions = _first_decisions(verifies)
    latencies = [
        _ms(e.ts, decisions[e.entry_id].ts)
        for e in events
        if e.type == EventType.CLAIM_PACKET_CREATED and e.entry_id in decisions
    ]
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "count": len(latencies),
    }


def metrics(store: Store) -> dict[str, Any]:
    """The metrics document for the workspace behind `store`."""
    wps = store.work_packages()
    document = compute(
        store.events(),
        {wp["id"]: wp["state"] for wp in wps},
        {wp["id"]: wp["tier"] for wp in wps},
    )
    monitor = store.monitor_counts()
    # A flag no longer open went with a dismissal or with its WP's progress (closing it too).
    monitor["cleared_by_progress"] = max(
        0, monitor["flagged"] - monitor["open"] - monitor["dismissed"]
    )
    return {**document, "monitor": monitor}


def outcomes_by_day(store: Store) -> list[tuple[str, dict[str, int]]]:
    """Verify outcomes per UTC day (for the chart), oldest first."""
    days: dict[str, Counter[str]] = {}
    for event in store.find_events(types=(EventType.VERIFY_COMPLETED,), limit=1_000_000):
        days.setdefault(event.ts[:10], Counter())[str(event.payload.get("outcome"))] += 1
    return [(day, dict(counts)) for day, counts in sorted(days.items())]
