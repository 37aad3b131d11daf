"""Ingest: the stateful checks of SPEC 3.1 and the events an accepted entry appends.

`plan_entry` reads the current projections and returns the events an entry produces, or
raises EntryRejected with the first failing code in SPEC order. It runs inside the store
transaction that appends its events, so the check and the change see the same state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.domain import (
    KIND_CAPABILITIES,
    Capability,
    EventType,
    Kind,
    RejectionCode,
    State,
    Verdict,
)
from cockpit.engine.canon import redaction
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import (
    CandidateBody,
    ClaimBody,
    CommonGroundBody,
    DispatchBody,
    EntryRejected,
    ParsedEntry,
    RecoveryBody,
    ReviewBody,
    ScopeConfirmationBody,
    VetoBody,
    WorkPackageBody,
    check_paths,
    entry_refs,
    parse_ref,
)
from cockpit.engine.gate.advisory import assess
from cockpit.engine.gate.predicates import Packet
from cockpit.engine.lifecycle.transitions import (
    REVIEW_TRIGGERS,
    IllegalTransition,
    Trigger,
    transition,
)
from cockpit.engine.repo.worktrees import WorktreeError, acceptance_proof
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store
from cockpit.store.projections import node_id

# The advisory verifier is a rule layer of the engine, not a configured principal.
ADVISORY_PRINCIPAL = "cockpit:advisory"

# The event type each kind's entry is recorded as (SPEC 7 names).
EVENT_TYPES: dict[Kind, EventType] = {
    Kind.WORK_PACKAGE: EventType.TASK_CREATED,
    Kind.COMMON_GROUND: EventType.COMMON_GROUND_UPDATED,
    Kind.DISPATCH: EventType.DISPATCHED,
    Kind.SCOPE_CONFIRMATION: EventType.SCOPE_CONFIRMED,
    Kind.REVIEW: EventType.REVIEW_RECORDED,
    Kind.CLAIM: EventType.CLAIM_PACKET_CREATED,
    Kind.EVIDENCE: EventType.EVIDENCE_PACKET_CREATED,
    Kind.RECOVERY: EventType.RECOVERY_PACKET_CREATED,
    Kind.CANDIDATE: EventType.CANDIDATE_CREATED,
    Kind.VETO: EventType.VETO_CHANGED,
}

# Kinds whose author must be the principal the WP is dispatched to.
ASSIGNEE_KINDS = frozenset({Kind.CLAIM, Kind.SCOPE_CONFIRMATION})


@dataclass(frozen=True)
class Plan:
    """What ingesting one entry does: nothing (a duplicate) or these events."""

    duplicate: bool
    events: list[NewEvent] = field(default_factory=list)


def entry_trigger(parsed: ParsedEntry) -> Trigger | None:
    """The lifecycle trigger an entry fires, or None for entries that change no state."""
    entry = parsed.entry
    body = entry.body
    match entry.kind:
        case Kind.WORK_PACKAGE:
            return Trigger.BOOK
        case Kind.DISPATCH:
            return Trigger.DISPATCH
        case Kind.SCOPE_CONFIRMATION:
            assert isinstance(body, ScopeConfirmationBody)
            return Trigger.SCOPE_CONFIRMATION if body.confirmed else None
        case Kind.REVIEW:
            assert isinstance(body, ReviewBody)
            return REVIEW_TRIGGERS.get(body.verdict.value)
        case Kind.CLAIM:
            return Trigger.CLAIM
        case Kind.RECOVERY:
            return Trigger.RECOVERY
        case _:
            return None


def _reject(code: RejectionCode, message: str, parsed: ParsedEntry) -> EntryRejected:
    return EntryRejected(code, message, parsed.entry.id)


def _check_identity(parsed: ParsedEntry, config: Config) -> None:
    entry = parsed.entry
    if entry.tenant is not None and entry.tenant != config.tenant:
        raise _reject(
            RejectionCode.TENANT_MISMATCH,
            f"tenant {entry.tenant!r} is not this workspace's tenant {config.tenant!r}",
            parsed,
        )
    if entry.principal not in config.principals:
        raise _reject(
            RejectionCode.UNKNOWN_PRINCIPAL,
            f"principal {entry.principal!r} is not declared in cockpit.yaml",
            parsed,
        )
    needed = KIND_CAPABILITIES[entry.kind]
    held = config.capabilities(entry.principal)
    if not any(cap in held for cap in needed):
        names = " or ".join(c.value for c in needed)
        raise _reject(
            RejectionCode.CAPABILITY_DENIED,
            f"{entry.principal} lacks the {names} capability needed for "
            f"{'an' if entry.kind.value[0] in 'aeiou' else 'a'} {entry.kind.value} entry",
            parsed,
        )
    if isinstance(entry.body, DispatchBody):
        target = entry.body.to
        if target not in config.principals:
            raise _reject(
                RejectionCode.UNKNOWN_PRINCIPAL,
                f"dispatch target {target!r} is not declared in cockpit.yaml",
                parsed,
            )
        if not config.has(target, Capability.CLAIM):
            raise _reject(
                RejectionCode.CAPABILITY_DENIED,
                f"dispatch target {target} lacks the claim capability, so it could never deliver",
                parsed,
            )
    if isinstance(entry.body, RecoveryBody) and entry.body.recovery_owner not in config.principals:
        raise _reject(
            RejectionCode.UNKNOWN_PRINCIPAL,
            f"recovery owner {entry.body.recovery_owner!r} is not declared in cockpit.yaml",
            parsed,
        )
    if isinstance(entry.body, WorkPackageBody):
        body = entry.body
        if config.lanes and body.lane not in config.lanes:
            raise _reject(
                RejectionCode.SCHEMA_ERROR,
                f"body.lane {body.lane!r} is not a lane of cockpit.yaml",
                parsed,
            )
        if config.tiers[body.tier].require_rollback_plan and not body.rollback_plan:
            raise _reject(
                RejectionCode.SCHEMA_ERROR,
                f"body.rollback_plan is required for the {body.tier.value} tier",
                parsed,
            )


def check_static(parsed: ParsedEntry, config: Config) -> None:
    """The checks that need only the entry and the config (used by `submit` too):
    tenant, principal, capability and path escape. Raises EntryRejected."""
    _check_identity(parsed, config)
    check_paths(parsed.entry)


def _edges_and_refs(parsed: ParsedEntry, store: Store) -> list[dict[str, str]]:
    entry = parsed.entry
    edges: list[dict[str, str]] = []
    for rel, raw in entry_refs(entry):
        ref = parse_ref(raw, entry.id)
        target = store.entry(ref.id)
        if target is None:
            raise _reject(
                RejectionCode.BAD_REF, f"{rel} {ref.id!r} names no ingested entry", parsed
            )
        if ref.sha256 is not None and ref.sha256 != target["sha256"]:
            raise _reject(
                RejectionCode.BAD_REF,
                f"{rel} {ref.id} is pinned to sha256:{ref.sha256[:12]}… but the entry's hash is "
                f"{target['sha256'][:12]}…",
                parsed,
            )
        edges.append({"from": entry.id, "to": ref.id, "rel": rel})
    body = entry.body
    ground = body.common_ground if isinstance(body, ClaimBody) else None
    if ground is not None and store.entry(ground.id) is not None:
        edges.append({"from": entry.id, "to": ground.id, "rel": "common_ground"})
    return edges


def _check_common_ground_version(parsed: ParsedEntry, store: Store) -> None:
    body = parsed.entry.body
    assert isinstance(body, CommonGroundBody)
    versions = [
        int(e["body"]["version"])
        for e in store.entries(parsed.entry.work_package, Kind.COMMON_GROUND.value)
    ]
    expected = max(versions, default=0) + 1
    if body.version != expected:
        raise _reject(
            RejectionCode.ILLEGAL_TRANSITION,
            f"common ground version {body.version} does not follow the latest version "
            f"{expected - 1} (expected {expected})",
            parsed,
        )


def plan_entry(parsed: ParsedEntry, config: Config, store: Store, root: Path | None = None) -> Plan:
    """Check one parsed entry against config and store; return the events it appends.

    Raises EntryRejected with the first failing stateful code, in SPEC 3.1 order:
    replay_conflict, tenant_mismatch, unknown_principal, capability_denied,
    unknown_work_package, path_escape, bad_ref, not_assignee, illegal_transition.
    `root` is the workspace root, against which a review's `merge_sha` is proved.
    """
    entry = parsed.entry
    existing = store.entry(entry.id)
    if existing is not None:
        if existing["sha256"] == parsed.sha256:
            return Plan(duplicate=True)
        raise _reject(
            RejectionCode.REPLAY_CONFLICT,
            f"entry id {entry.id} was already ingested with different content "
            f"(sha256 {existing['sha256'][:12]}…)",
            parsed,
        )
    _check_identity(parsed, config)
    wp = store.work_package(entry.work_package)
    if entry.kind is not Kind.WORK_PACKAGE and wp is None:
        raise _reject(
            RejectionCode.UNKNOWN_WORK_PACKAGE,
            f"work package {entry.work_package} has not been booked",
            parsed,
        )
    if isinstance(entry.body, DispatchBody) and wp is not None:
        lanes = config.principals[entry.body.to].lanes
        if lanes and wp["lane"] not in lanes:
            raise _reject(
                RejectionCode.CAPABILITY_DENIED,
                f"dispatch target {entry.body.to} does not serve lane {wp['lane']!r}",
                parsed,
            )
    check_paths(entry)
    edges = _edges_and_refs(parsed, store)
    proof = _acceptance(parsed, wp, root, store, config)
    if entry.kind in ASSIGNEE_KINDS:
        assert wp is not None
        if wp["assignee"] != entry.principal:
            assignee = wp["assignee"] or "nobody (not dispatched)"
            raise _reject(
                RejectionCode.NOT_ASSIGNEE,
                f"{entry.principal} is not the assignee of {entry.work_package} ({assignee})",
                parsed,
            )

    state = State(wp["state"]) if wp is not None else None
    trigger = entry_trigger(parsed)
    target: State | None = None
    body = entry.body
    if trigger is not None:
        try:
            target = transition(state, trigger)
        except IllegalTransition as exc:
            raise _reject(RejectionCode.ILLEGAL_TRANSITION, str(exc), parsed) from None
    elif isinstance(body, ScopeConfirmationBody) and state is not State.DISPATCHED:
        raise _reject(
            RejectionCode.ILLEGAL_TRANSITION,
            f"a scope confirmation is only taken while dispatched, not in state {state}",
            parsed,
        )
    elif isinstance(body, CommonGroundBody):
        _check_common_ground_version(parsed, store)
    elif isinstance(body, VetoBody) and body.lift and wp is not None and not wp["vetoed"]:
        raise _reject(
            RejectionCode.ILLEGAL_TRANSITION,
            f"{entry.work_package} has no active veto to lift",
            parsed,
        )

    payload: dict[str, Any] = {
        "entry": entry.to_json(),
        "sha256": parsed.sha256,
        "file": parsed.file,
        "raw": parsed.raw,
        "edges": edges,
    }
    if isinstance(body, ScopeConfirmationBody):
        payload["confirmed"] = body.confirmed
    if isinstance(body, VetoBody):
        payload.update(active=not body.lift, reason=body.reason)
    if isinstance(body, RecoveryBody):
        payload.update(recovery_owner=body.recovery_owner, next_action=body.next_action)
    if isinstance(body, DispatchBody):
        payload["to"] = body.to
    if isinstance(body, ReviewBody):
        payload["verdict"] = body.verdict.value
        if proof is not None:
            payload["merge_proof"] = proof
    if isinstance(body, CandidateBody):
        payload.update(candidate_payload(parsed, body, config, store))
        payload["edges"] += [
            {"from": entry.id, "to": ref, "rel": "evidence"}
            for ref in dict.fromkeys(str(r).partition("@")[0] for r in body.evidence)
            if store.entry(ref) is not None
        ]
    if isinstance(body, RecoveryBody | ClaimBody):
        wp_events = store.events(entry.work_package)
        payload["edges"] += answer_edges(wp_events, entry.id, isinstance(body, ClaimBody))

    wp_id = entry.work_package
    events: list[NewEvent] = []
    main = NewEvent(EVENT_TYPES[entry.kind], wp_id, entry.principal, entry.id, payload)
    if trigger is Trigger.REVIEW_ACCEPTED:
        assert target is not None and state is not None
        events.append(main)
        events.append(
            NewEvent(
                EventType.TASK_COMPLETED,
                wp_id,
                entry.principal,
                entry.id,
                {"transition": {"from": state.value, "to": target.value}, "review": entry.id},
            )
        )
        return Plan(duplicate=False, events=events)
    if target is not None:
        payload["transition"] = {"from": state.value if state else None, "to": target.value}
    if trigger is Trigger.REVIEW_REJECTED:
        payload["rollback_requested"] = True
    events.append(main)
    lane = config.lanes.get(wp["lane"]) if wp is not None else None
    if target is State.SCOPE_CONFIRMED and lane is not None and lane.standing_go:
        events.append(standing_go(config, store, wp_id))
    if isinstance(body, ClaimBody):
        events.append(_advisory_event(parsed, config, store, wp))
    return Plan(duplicate=False, events=events)


def candidate_payload(
    parsed: ParsedEntry, body: CandidateBody, config: Config, store: Store
) -> dict[str, Any]:
    """What a candidate's event carries beyond the entry: its redaction state, the hash of
    its record (for anti-replay against canon) and the workspace tenant it was filed
    under. A record with secrets is stored redacted (entry and raw text alike), so no
    secret reaches an event; the entry's sha256 stays the hash of the submitted bytes."""
    hits = redaction.scan(body.record)
    extra_hits = redaction.scan(body.description or "")
    raw_hits = redaction.scan(parsed.raw)
    stored = parsed.entry.to_json()
    update: dict[str, Any] = {
        "record_sha256": hashlib.sha256(body.record.encode("utf-8")).hexdigest(),
        "tenant": config.tenant,
        "redaction": {
            "clean": not hits,
            "kinds": sorted({h.kind for h in hits}),
            "detail": redaction.describe(hits),
            "scanner": redaction.SCANNER_VERSION,
        },
    }
    if hits or extra_hits or raw_hits:
        stored["body"]["record"] = redaction.redact(body.record, hits)
        if body.description:
            stored["body"]["description"] = redaction.redact(body.description, extra_hits)
        update["entry"] = stored
        raw = redaction.redact(parsed.raw, raw_hits)
        # The raw text quotes the record as YAML: a secret found in the record may stand
        # there escaped, where the scanner's patterns do not see it. Remove it by value.
        found = [(body.record, h) for h in hits]
        found += [(body.description or "", h) for h in extra_hits]
        for text, hit in found:
            secret = text[hit.start : hit.end]
            for form in {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}:
                if form:
                    raw = raw.replace(form, f"[REDACTED:{hit.kind}]")
        update["raw"] = raw
        update["redacted"] = True
    return update


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
        "verdict": "go",
        "findings": [],
        "standing": True,
        "policy_version": config.policy.version,
        "transition": move,
    }
    return NewEvent(EventType.REVIEW_RECORDED, wp_id, booker, None, payload)


def _acceptance(
    parsed: ParsedEntry,
    wp: dict[str, Any] | None,
    root: Path | None,
    store: Store,
    config: Config,
) -> dict[str, Any] | None:
    """For a review `accepted`: the admitted work unchanged, and SPEC 6's merge proof of
    its `merge_sha` (worktrees.acceptance_proof); bad_ref if either fails."""
    body = parsed.entry.body
    if not isinstance(body, ReviewBody) or body.verdict is not Verdict.ACCEPTED:
        return None
    if wp is None or root is None:
        return None
    try:
        return acceptance_proof(Workspace(root, config), store, wp, body.merge_sha)
    except WorktreeError as exc:
        raise _reject(RejectionCode.BAD_REF, str(exc), parsed) from None


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


def _advisory_event(
    parsed: ParsedEntry, config: Config, store: Store, wp: dict[str, Any] | None
) -> NewEvent:
    """The advisory verifier's prediction for a new claim, issued before any gate run."""
    assert wp is not None
    claim = Packet(
        id=parsed.entry.id,
        kind=parsed.entry.kind.value,
        work_package=parsed.entry.work_package,
        principal=parsed.entry.principal,
        sha256=parsed.sha256,
        seq=0,
        body=parsed.entry.body.model_dump(mode="json", by_alias=True),
    )
    packets = {row["id"]: Packet.from_row(row) for row in store.entries(wp["id"])}
    for raw in claim.body.get("evidence") or []:
        ref = str(raw).partition("@")[0]
        row = store.entry(ref)
        if row is not None:
            packets[ref] = Packet.from_row(row)
    advisory = assess(claim, packets, wp, config)
    payload = advisory.to_payload()
    payload["edges"] = [{"from": "@self", "to": claim.id, "rel": "advises"}]
    return NewEvent(EventType.ADVISORY_ISSUED, wp["id"], ADVISORY_PRINCIPAL, None, payload)
