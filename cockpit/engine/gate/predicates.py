"""The verify gate (SPEC 5): thirteen pure predicates over a claim's packets, and the
outcome they add up to.

Nothing here reads files, runs commands or writes: `GateInput` carries every fact (the
packets, the WP's history, validation results, changed files) and `evaluate` returns values.
The effects live in `verification.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cockpit.domain import EventType, EvidenceClass, Predicate, Tier
from cockpit.engine.gate.facts import (
    GateInput,
    HistoryItem,
    Outcome,
    Packet,
    Result,
    Status,
    err,
    na,
    no,
    ok,
)
from cockpit.engine.gate.surfaces import classify

# -- the predicates ---------------------------------------------------------------------


def claim_done(g: GateInput) -> Result:
    if g.claim is None:
        return no("no claim has been filed for this work package")
    state = g.claim.body.get("done_state")
    if state != "done":
        return no(f"claim {g.claim.id} says done_state {state!r}, not 'done'")
    return ok(f"claim {g.claim.id} says done")


def _named_ground(g: GateInput) -> tuple[dict[str, Any] | None, Packet | None]:
    if g.claim is None:
        return None, None
    pin = g.claim.body.get("common_ground")
    if not pin:
        return None, None
    return pin, g.packets.get(pin["id"])


def common_ground_aligned(g: GateInput) -> Result:
    if g.claim is None:
        return no("no claim names a common-ground packet")
    pin, packet = _named_ground(g)
    if pin is None:
        return no(f"claim {g.claim.id} names no common-ground packet")
    if packet is None:
        return no(f"claim {g.claim.id} names {pin['id']}, which was never filed")
    if packet.kind != "common_ground":
        return no(f"{pin['id']} is a {packet.kind} packet, not common ground")
    if packet.work_package != g.wp["id"]:
        return no(f"{pin['id']} is common ground of {packet.work_package}, not {g.wp['id']}")
    return ok(f"claim {g.claim.id} names common ground {packet.id}")


def ground_fresh(g: GateInput) -> Result:
    pin, packet = _named_ground(g)
    grounds = g.ground_packets()
    if pin is None or packet is None or packet.kind != "common_ground" or not grounds:
        return na("no aligned common-ground packet to check")
    if packet.work_package != g.wp["id"]:
        return na(f"{packet.id} is not this work package's common ground")
    latest = grounds[-1]
    have = int(packet.body.get("version", 0))
    if latest.id != packet.id:
        return no(
            f"claim pins {packet.id} v{have}; the latest common ground is {latest.id} "
            f"v{latest.body.get('version')}"
        )
    if int(pin.get("version", -1)) != have:
        return no(f"claim pins version {pin.get('version')} but {packet.id} is version {have}")
    if pin.get("hash") != packet.sha256:
        return no(
            f"claim pins {packet.id} with hash {str(pin.get('hash'))[:12]}…, the packet's hash "
            f"is {packet.sha256[:12]}…"
        )
    return ok(f"{packet.id} v{have} is the latest and its hash matches")


def verify_mode(g: GateInput) -> Result:
    if g.tier is not Tier.DEEP:
        return ok(f"{g.tier.value} tier: every predicate was evaluated")
    commands = g.body.get("validation_commands") or []
    if not commands:
        return no("deep tier needs at least one validation command; the WP has none")
    if g.validation is None or len(g.validation) != len(commands):
        return no("deep tier: the verifier did not re-run every validation command")
    return ok(f"deep tier: the verifier re-ran {len(commands)} validation command(s)")


def evidence_floor(g: GateInput) -> Result:
    if g.claim is None:
        return no("no claim, so no evidence")
    refs = g.claim.body.get("evidence") or []
    if not refs:
        return no(f"claim {g.claim.id} cites no evidence")
    floor = EvidenceClass(g.wp.get("evidence_floor") or g.config.evidence_floor(g.tier))
    strongest: EvidenceClass | None = None
    for raw in refs:
        ref_id, _, pin = str(raw).partition("@sha256:")
        packet = g.packets.get(ref_id)
        if packet is None:
            return no(f"evidence {ref_id} does not exist")
        if packet.kind != "evidence":
            return no(f"{ref_id} is a {packet.kind} packet, not evidence")
        if packet.work_package != g.wp["id"]:
            return no(f"evidence {ref_id} belongs to {packet.work_package}, not {g.wp['id']}")
        if pin and pin != packet.sha256:
            return no(
                f"evidence {ref_id} is pinned to {pin[:12]}…, its hash is {packet.sha256[:12]}…"
            )
        for item in packet.body.get("items") or []:
            expected = item.get("sha256")
            if expected:
                actual = g.evidence_files.get(item["ref"])
                if actual is None:
                    return no(f"evidence {ref_id}: {item['ref']} is pinned but cannot be read")
                if actual != expected:
                    return no(
                        f"evidence {ref_id}: {item['ref']} is pinned to {expected[:12]}…, the "
                        f"file's hash is {actual[:12]}…"
                    )
            if item.get("exit_code") not in (None, 0):
                continue  # a failed command proves nothing
            cls = EvidenceClass(item["class"])
            if strongest is None or cls.rank > strongest.rank:
                strongest = cls
    if strongest is None:
        return no(f"cited evidence has no passing item; the floor is {floor.value}")
    if strongest.rank < floor.rank:
        return no(f"strongest evidence is {strongest.value}; the floor is {floor.value}")
    return ok(f"strongest evidence {strongest.value} meets the floor {floor.value}")


def ownership_clear(g: GateInput) -> Result:
    if g.claim is None:
        return no("no claim, so no owner")
    body = g.claim.body
    gaps = []
    for key in ("owner", "accountable"):
        if not body.get(key):
            gaps.append(f"claim {key} is not set")
        elif body[key] != g.wp[key]:
            gaps.append(f"claim {key} {body[key]} is not the WP's {key} {g.wp[key]}")
    if g.claim.principal != g.wp.get("assignee"):
        gaps.append(f"claimant {g.claim.principal} is not the assignee {g.wp.get('assignee')}")
    if gaps:
        return no("; ".join(gaps))
    return ok(f"owner {body['owner']}, accountable {body['accountable']}, claimant is the assignee")


def _blocked_verifies(g: GateInput) -> list[HistoryItem]:
    return [
        h
        for h in g.history
        if h.type == EventType.VERIFY_COMPLETED and h.payload.get("outcome") == "blocked"
    ]


def _resolves_block(item: HistoryItem) -> bool:
    return item.type == EventType.RECOVERY_PACKET_CREATED or (
        item.type == EventType.REVIEW_RECORDED
        and item.payload.get("verdict") == "revision_required"
    )


def no_open_blockers(g: GateInput) -> Result:
    if g.claim is not None:
        questions = g.claim.body.get("unresolved_questions") or []
        if questions:
            return no(
                f"claim {g.claim.id} lists {len(questions)} unresolved question(s): "
                + "; ".join(str(q) for q in questions)
            )
    for blocked in _blocked_verifies(g):
        if not any(_resolves_block(h) and h.seq > blocked.seq for h in g.history):
            return no(f"blocked verify at seq {blocked.seq} has no recovery packet after it")
    return ok("no unresolved questions; every earlier block has a recovery")


def escalation_path(g: GateInput) -> Result:
    if not g.config.tiers[g.tier].require_diagnostic_review:
        return na(f"{g.tier.value} tier needs no diagnostic review")
    if g.claim is None:
        return no("no claim to precede")
    for h in g.history:
        if (
            h.type == EventType.REVIEW_RECORDED
            and h.payload.get("verdict") == "diagnostic"
            and h.seq < g.claim.seq
        ):
            return ok(f"diagnostic review at seq {h.seq} precedes the claim")
    return no(f"{g.tier.value} tier: no diagnostic review precedes claim {g.claim.id}")


def advisories_treated(g: GateInput) -> Result:
    if g.claim is None:
        return na("no claim, so no advisory")
    dismissed = {
        h.payload.get("advisory") for h in g.history if h.type == EventType.ADVISORY_DISMISSED
    }
    open_serious = [
        h.payload["id"]
        for h in g.history
        if h.type == EventType.ADVISORY_ISSUED
        and h.payload.get("claim") == g.claim.id
        and h.payload.get("severity") == "serious"
        and h.payload["id"] not in dismissed
    ]
    if open_serious:
        return no(
            f"serious advisory {', '.join(open_serious)} on claim {g.claim.id} "
            "has not been dismissed"
        )
    return ok("no untreated serious advisory on this claim")


def no_active_recovery(g: GateInput) -> Result:
    recoveries = [h for h in g.history if h.type == EventType.RECOVERY_PACKET_CREATED]
    if not recoveries:
        return ok("no recovery packet was filed")
    last = recoveries[-1]
    if g.claim is None or g.claim.seq < last.seq:
        return no(f"recovery at seq {last.seq} has not been answered by a newer claim")
    return ok(f"recovery at seq {last.seq} is answered by claim {g.claim.id}")


def no_veto(g: GateInput) -> Result:
    if g.wp.get("vetoed"):
        reasons = [
            h.payload.get("reason")
            for h in g.history
            if h.type == EventType.VETO_CHANGED and h.payload.get("active")
        ]
        return no(f"vetoed: {reasons[-1]}" if reasons else "an active veto stands")
    return ok("no active veto")


def scope_respected(g: GateInput) -> Result:
    if not g.wp.get("target_repo"):
        return na("the WP has no target repo")
    if g.changed_error:
        return err(f"could not list changed files: {g.changed_error}")
    if g.surface_error:
        return err(g.surface_error)
    changed = g.changed_files or []
    owned = g.body.get("owned_surfaces") or []
    forbidden = g.body.get("forbidden_surfaces") or []
    touched, outside_owned = g.surface_matches or classify(changed, owned, forbidden)
    if touched:
        return no(f"changed forbidden surface(s): {', '.join(touched[:5])}")
    outside = [f"replacement ref {ref}" for ref in g.planted_refs[:3]]
    outside += [f".git/{path}" for path in g.git_dir_changes[:3]]
    if outside:
        return no(f"changed the target repo outside the worktree: {', '.join(outside)}")
    if outside_owned:
        detail = ", ".join(outside_owned[:5])
        return no(f"changed file(s) outside the owned surfaces: {detail}")
    return ok(f"{len(changed)} changed file(s), all within the owned surfaces")


def validation_passed(g: GateInput) -> Result:
    commands = g.body.get("validation_commands") or []
    if not commands:
        return na("the WP has no validation commands")
    if g.validation_error:
        return err(g.validation_error)
    if g.validation is None:
        return err("validation commands were not run")
    for result in g.validation:
        if result.error:
            return err(f"{result.command!r} could not run: {result.error}")
        if result.timed_out:
            return err(f"{result.command!r} timed out after {result.duration_ms} ms")
        if result.exit_code != 0:
            return no(f"{result.command!r} exited {result.exit_code}")
    return ok(f"{len(g.validation)} validation command(s) exited 0")


PREDICATES: dict[Predicate, Callable[[GateInput], Result]] = {
    Predicate.CLAIM_DONE: claim_done,
    Predicate.COMMON_GROUND_ALIGNED: common_ground_aligned,
    Predicate.GROUND_FRESH: ground_fresh,
    Predicate.VERIFY_MODE: verify_mode,
    Predicate.EVIDENCE_FLOOR: evidence_floor,
    Predicate.OWNERSHIP_CLEAR: ownership_clear,
    Predicate.NO_OPEN_BLOCKERS: no_open_blockers,
    Predicate.ESCALATION_PATH: escalation_path,
    Predicate.ADVISORIES_TREATED: advisories_treated,
    Predicate.NO_ACTIVE_RECOVERY: no_active_recovery,
    Predicate.NO_VETO: no_veto,
    Predicate.SCOPE_RESPECTED: scope_respected,
    Predicate.VALIDATION_PASSED: validation_passed,
}

# What kind of reason each predicate's failure is (the paper's blocked instrumentation).
REASON_CLASSES: dict[Predicate, str] = {
    Predicate.CLAIM_DONE: "incomplete_claim",
    Predicate.COMMON_GROUND_ALIGNED: "ground_misaligned",
    Predicate.GROUND_FRESH: "stale_ground",
    Predicate.VERIFY_MODE: "verification_gap",
    Predicate.EVIDENCE_FLOOR: "evidence_gap",
    Predicate.OWNERSHIP_CLEAR: "owner_gap",
    Predicate.NO_OPEN_BLOCKERS: "open_blockers",
    Predicate.ESCALATION_PATH: "escalation_missing",
    Predicate.ADVISORIES_TREATED: "advisory_untreated",
    Predicate.NO_ACTIVE_RECOVERY: "recovery_pending",
    Predicate.NO_VETO: "vetoed",
    Predicate.SCOPE_RESPECTED: "scope_violation",
    Predicate.VALIDATION_PASSED: "validation_failure",
}


@dataclass(frozen=True)
class Decision:
    """The gate's verdict on one claim."""

    outcome: Outcome
    results: dict[Predicate, Result]
    blocking_predicate: Predicate | None
    blocked_reason_class: str | None
    missing_packet_type: str | None
    evidence_floor_failed: bool
    owner_gap: bool
    stale_ground: bool

    @property
    def acceptance_status(self) -> str:
        return "accepted" if self.outcome is Outcome.SUCCESS else "withheld"

    def to_json(self) -> dict[str, Any]:
        """The `cockpit verify --json` document."""
        return {
            "outcome": self.outcome.value,
            "acceptance_status": self.acceptance_status,
            "predicates": {p.value: r.to_json() for p, r in self.results.items()},
            "blocking_predicate": self.blocking_predicate.value
            if self.blocking_predicate
            else None,
            "blocked_reason_class": self.blocked_reason_class,
            "missing_packet_type": self.missing_packet_type,
            "evidence_floor_failed": self.evidence_floor_failed,
            "owner_gap": self.owner_gap,
            "stale_ground": self.stale_ground,
        }


def _missing_packet(g: GateInput, blocking: Predicate | None) -> str | None:
    if blocking is None:
        return None
    if g.claim is None:
        return "claim"
    match blocking:
        case Predicate.COMMON_GROUND_ALIGNED | Predicate.GROUND_FRESH:
            return "common_ground"
        case Predicate.EVIDENCE_FLOOR:
            return "evidence"
        case Predicate.NO_OPEN_BLOCKERS | Predicate.NO_ACTIVE_RECOVERY:
            return "recovery" if not g.claim.body.get("unresolved_questions") else None
        case Predicate.ESCALATION_PATH:
            return "review"
        case _:
            return None


def evaluate(g: GateInput, *, withhold: bool = False) -> Decision:
    """Run every predicate and combine them (SPEC 5). A predicate that raises counts as
    `error`, which never admits. With `withhold` (dry-run, shadow, non-canary in canary),
    the outcome is `skipped` whatever the predicates say."""
    results: dict[Predicate, Result] = {}
    for predicate, check in PREDICATES.items():
        try:
            results[predicate] = check(g)
        except Exception as exc:  # fail closed: a broken predicate withholds
            results[predicate] = err(f"predicate raised {type(exc).__name__}: {exc}")
    blocking = next(
        (p for p, r in results.items() if r.status in (Status.UNSATISFIED, Status.ERROR)), None
    )
    failed_on = set(g.config.policy.failed_on)
    if withhold:
        outcome = Outcome.SKIPPED
    elif blocking is None:
        outcome = Outcome.SUCCESS
    elif any(results[p].status is Status.UNSATISFIED for p in failed_on if p in results):
        outcome = Outcome.FAILED
    else:
        outcome = Outcome.BLOCKED
    reason_class = None
    if blocking is not None:
        errored = results[blocking].status is Status.ERROR
        reason_class = "gate_error" if errored else REASON_CLASSES[blocking]
    return Decision(
        outcome=outcome,
        results=results,
        blocking_predicate=blocking,
        blocked_reason_class=reason_class,
        missing_packet_type=_missing_packet(g, blocking),
        evidence_floor_failed=results[Predicate.EVIDENCE_FLOOR].status is Status.UNSATISFIED,
        owner_gap=results[Predicate.OWNERSHIP_CLEAR].status is Status.UNSATISFIED,
        stale_ground=results[Predicate.GROUND_FRESH].status is Status.UNSATISFIED,
    )
