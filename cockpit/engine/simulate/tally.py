"""What a simulation found (issue 16): the gated run as the record holds it, against the
ungated baseline (every claim admitted on arrival: each WP completes with its first
claim), both judged against the ground truth only the simulator knows. Every share is
`{num, den}`; nothing here reads a clock, so one seed gives one report.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.reports.metrics import percentile, share
from cockpit.engine.simulate.drive import ROUND, START, Attempt, Course, Simulation
from cockpit.engine.simulate.faults import CAUGHT_BY, FAULTS
from cockpit.store import Event, Store
from cockpit.store.events import format_ts

SCHEMA = "cockpit.simulation/v1"


def tally(sim: Simulation, store: Store, settings: dict[str, Any]) -> dict[str, Any]:
    """The report's document."""
    courses = list(sim.courses.values())
    # The claim's fault by (WP, claim id): a replay reuses another claim's id.
    faulty = {(c.id, a.claim_id): a.fault for c in courses for a in c.attempts}
    by_wp: dict[str, list[Event]] = {c.id: store.events(c.id) for c in courses}
    admitted: dict[str, str | None] = {}  # WP -> the fault of the claim the gate admitted
    verdicts: list[tuple[str | None, str]] = []  # (fault, outcome) of each gate run
    errors = 0  # gate runs that could not judge (an `error` predicate: its environment)
    for course in courses:
        for event in by_wp[course.id]:
            if event.type != EventType.VERIFY_COMPLETED:
                continue
            claim = (event.payload.get("claim") or {}).get("id")
            fault = faulty.get((course.id, str(claim)))
            results = (event.payload.get("predicates") or {}).values()
            if any(isinstance(r, dict) and r.get("status") == "error" for r in results):
                errors += 1
                continue
            verdicts.append((fault, str(event.payload.get("outcome"))))
            if event.payload.get("outcome") == "success":
                admitted[course.id] = fault
    first = {c.id: c.attempts[0].fault for c in courses if c.attempts}
    gated_false = sum(1 for fault in admitted.values() if fault is not None)
    ungated_false = sum(1 for fault in first.values() if fault is not None)
    honest_runs = [outcome for fault, outcome in verdicts if fault is None]
    withheld = sum(1 for outcome in honest_runs if outcome in ("blocked", "failed"))
    honest_first = sum(1 for fault in first.values() if fault is None)
    return {
        "schema": SCHEMA,
        "settings": settings,
        "work_packages": len(courses),
        "false_completions_admitted": {
            "gated": share(gated_false, len(admitted)),
            "ungated": share(ungated_false, len(first)),
        },
        "admitted": {
            "gated": share(len(admitted), len(courses)),
            "ungated": share(len(first), len(courses)),
        },
        "true_completions_withheld": {
            "gated": share(withheld, len(honest_runs)),
            "ungated": share(0, honest_first),
        },
        "gate_errors": share(errors, errors + len(verdicts)),
        "recovery_cycles_per_wp": {
            "gated": share(
                sum(
                    1
                    for events in by_wp.values()
                    for e in events
                    if e.type == EventType.RECOVERY_PACKET_CREATED
                ),
                len(courses),
            ),
            "ungated": share(0, len(courses)),
        },
        "claim_to_decision_rounds": _latency(courses),
        "events_per_wp_by_tier": _events_by_tier(courses, by_wp),
        "advisory": _advisory(by_wp, faulty),
        "by_fault": _by_fault(courses, admitted),
        "not_caught": _not_caught(courses, admitted),
        "admitted_work_packages": sorted(admitted),
        "left": [{"work_package": c.id, "why": c.left} for c in courses if c.left],
    }


def _latency(courses: list[Course]) -> dict[str, Any]:
    """Rounds from a WP's first claim to its admission (0: the claim's own round)."""
    rounds = [
        c.admitted_round - 1 - c.attempts[0].round
        for c in courses
        if c.admitted_round is not None and c.attempts
    ]
    return {"p50": percentile(rounds, 50), "p95": percentile(rounds, 95), "count": len(rounds)}


def _events_by_tier(courses: list[Course], by_wp: dict[str, list[Event]]) -> dict[str, Any]:
    """Events per WP by tier: the gated record's, and what an ungated one would hold (the
    WP's events up to its first claim's arrival, and one admission)."""
    out: dict[str, Any] = {}
    for tier in sorted({c.tier.value for c in courses}):
        group = [c for c in courses if c.tier.value == tier]
        gated = sum(len(by_wp[c.id]) for c in group)
        ungated = 0
        for course in group:
            events = by_wp[course.id]
            if not course.attempts:
                ungated += len(events)
                continue
            # Before the first attempt's round, the gated record is the ungated one's; then
            # that attempt's own entries (as recorded, or once each where the queue refused
            # them), and one admission.
            attempt = course.attempts[0]
            before = sum(1 for e in events if e.seq < _first_seq_of_round(events, attempt))
            ungated += before + len(attempt.entry_ids) + 1
        out[tier] = {"gated": share(gated, len(group)), "ungated": share(ungated, len(group))}
    return out


def _first_seq_of_round(events: list[Event], attempt: Attempt) -> int:
    """The seq of the WP's first event in the attempt's round (past the end if none)."""
    start = format_ts(START + attempt.round * ROUND)
    return next((e.seq for e in events if e.ts >= start), events[-1].seq + 1 if events else 0)


def _advisory(
    by_wp: dict[str, list[Event]], faulty: dict[tuple[str, str], str | None]
) -> dict[str, Any]:
    """The advisory verifier's predictions against the ground truth (the paper's PGV
    figures with a real ground truth): a prediction is right when `risky` meets a faulty
    claim or `safe_to_proceed` an honest one."""
    right = risky = risky_faulty = safe = safe_faulty = total = 0
    for events in by_wp.values():
        for event in events:
            if event.type != EventType.ADVISORY_ISSUED:
                continue
            key = (str(event.work_package), str(event.payload.get("claim") or ""))
            if key not in faulty:
                continue
            bad = faulty[key] is not None
            said_risky = event.payload.get("prediction") == "risky"
            total += 1
            right += said_risky == bad
            risky += said_risky
            risky_faulty += said_risky and bad
            safe += not said_risky
            safe_faulty += (not said_risky) and bad
    return {
        "agreement": share(right, total),
        "false_success": share(safe_faulty, safe),
        "blocked_precision": share(risky_faulty, risky),
    }


def _by_fault(courses: list[Course], admitted: dict[str, str | None]) -> dict[str, Any]:
    enacted: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for course in courses:
        for attempt in course.attempts:
            if attempt.fault is not None:
                enacted[attempt.fault] += 1
                if attempt.number == 1:
                    first[attempt.fault] += 1
    gated = Counter(fault for fault in admitted.values() if fault is not None)
    return {
        kind: {
            "attempts": enacted[kind],
            "admitted_gated": gated[kind],
            "admitted_ungated": first[kind],
            "caught_by": CAUGHT_BY[kind],
        }
        for kind in FAULTS
    }


def _not_caught(courses: list[Course], admitted: dict[str, str | None]) -> list[dict[str, Any]]:
    """The fault kinds the gated run admitted, with the tiers where it did."""
    tiers: dict[str, Counter[str]] = {}
    for course in courses:
        fault = admitted.get(course.id)
        if fault is not None:
            tiers.setdefault(fault, Counter())[course.tier.value] += 1
    return [
        {
            "fault": kind,
            "admitted": sum(tiers[kind].values()),
            "by_tier": dict(sorted(tiers[kind].items())),
        }
        for kind in FAULTS
        if kind in tiers
    ]
