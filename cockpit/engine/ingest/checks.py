"""The checks of SPEC 3.1 that an entry passes before it is ingested, one function each.

`check_static` needs only the entry and the config (so `cockpit submit` runs it too); the
others read the store's projections and run inside the ingest transaction. Each raises
EntryRejected with its rejection code.
"""

from __future__ import annotations

from cockpit.domain import ASSIGNEE_KINDS, KIND_CAPABILITIES, Kind, RejectionCode, State
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import (
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
)
from cockpit.engine.entries.parse import check_paths, entry_refs, parse_ref
from cockpit.engine.lifecycle.effects import (
    DUTY_VERDICTS,
    ProblemKind,
    dispatch_target_problem,
    duty_conflict,
    veto_lift_problem,
)
from cockpit.engine.lifecycle.transitions import IllegalTransition, Trigger, transition
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

# How a dispatch target's problem is named as a rejection code.
_DISPATCH_CODES = {
    ProblemKind.UNKNOWN_PRINCIPAL: RejectionCode.UNKNOWN_PRINCIPAL,
    ProblemKind.CANNOT_CLAIM: RejectionCode.CAPABILITY_DENIED,
    ProblemKind.WRONG_LANE: RejectionCode.CAPABILITY_DENIED,
}


def reject(code: RejectionCode, message: str, parsed: ParsedEntry) -> EntryRejected:
    return EntryRejected(code, message, parsed.entry.id)


def check_static(parsed: ParsedEntry, config: Config) -> None:
    """The checks that need only the entry and the config (used by `submit` too):
    tenant, principal, capability and path escape. Raises EntryRejected."""
    check_tenant(parsed, config)
    check_principal(parsed, config)
    check_capability(parsed, config)
    check_paths(parsed.entry)


def check_tenant(parsed: ParsedEntry, config: Config) -> None:
    """tenant_mismatch: the entry is for this tenant and workspace. Under
    `signatures: required` it must say so (SPEC 10.1, 10.5), so a signed entry cannot be
    replayed into another workspace."""
    entry = parsed.entry
    if entry.tenant is not None and entry.tenant != config.tenant:
        raise reject(
            RejectionCode.TENANT_MISMATCH,
            f"tenant {entry.tenant!r} is not this workspace's tenant {config.tenant!r}",
            parsed,
        )
    if entry.workspace is not None and entry.workspace != config.workspace:
        raise reject(
            RejectionCode.TENANT_MISMATCH,
            f"workspace {entry.workspace!r} is not this workspace ({config.workspace!r})",
            parsed,
        )
    if config.signatures_required:
        if entry.tenant is None:
            raise reject(
                RejectionCode.TENANT_MISMATCH,
                f"signatures are required, so the entry must name its tenant ({config.tenant!r})",
                parsed,
            )
        if config.workspace is not None and entry.workspace is None:
            raise reject(
                RejectionCode.TENANT_MISMATCH,
                f"signatures are required, so the entry must name its workspace "
                f"({config.workspace!r})",
                parsed,
            )


def check_principal(parsed: ParsedEntry, config: Config) -> None:
    """unknown_principal."""
    entry = parsed.entry
    if entry.principal not in config.principals:
        raise reject(
            RejectionCode.UNKNOWN_PRINCIPAL,
            f"principal {entry.principal!r} is not declared in cockpit.yaml",
            parsed,
        )


def check_capability(parsed: ParsedEntry, config: Config) -> None:
    """capability_denied (and the config-level rules of an entry's names: a dispatch
    target, a recovery owner, a booking's lane and rollback plan)."""
    entry = parsed.entry
    needed = KIND_CAPABILITIES[entry.kind]
    held = config.capabilities(entry.principal)
    if not any(cap in held for cap in needed):
        names = " or ".join(c.value for c in needed)
        raise reject(
            RejectionCode.CAPABILITY_DENIED,
            f"{entry.principal} lacks the {names} capability needed for "
            f"{entry.kind.article} {entry.kind.value} entry",
            parsed,
        )
    body = entry.body
    if isinstance(body, DispatchBody):
        check_dispatch_target(parsed, config, None)
    if isinstance(body, RecoveryBody) and body.recovery_owner not in config.principals:
        raise reject(
            RejectionCode.UNKNOWN_PRINCIPAL,
            f"recovery owner {body.recovery_owner!r} is not declared in cockpit.yaml",
            parsed,
        )
    if isinstance(body, WorkPackageBody):
        if config.lanes and body.lane not in config.lanes:
            raise reject(
                RejectionCode.SCHEMA_ERROR,
                f"body.lane {body.lane!r} is not a lane of cockpit.yaml",
                parsed,
            )
        if config.tiers[body.tier].require_rollback_plan and not body.rollback_plan:
            raise reject(
                RejectionCode.SCHEMA_ERROR,
                f"body.rollback_plan is required for the {body.tier.value} tier",
                parsed,
            )


def check_dispatch_target(parsed: ParsedEntry, config: Config, wp: WorkPackageRow | None) -> None:
    body = parsed.entry.body
    assert isinstance(body, DispatchBody)
    problem = dispatch_target_problem(config, body.to, wp, parsed.entry.work_package)
    if problem is not None:
        raise reject(_DISPATCH_CODES[problem.kind], problem.message, parsed)


def known_work_package(parsed: ParsedEntry, store: Store) -> WorkPackageRow | None:
    """unknown_work_package: every kind but a booking names a booked WP."""
    entry = parsed.entry
    wp = store.work_package(entry.work_package)
    if entry.kind is not Kind.WORK_PACKAGE and wp is None:
        raise reject(
            RejectionCode.UNKNOWN_WORK_PACKAGE,
            f"work package {entry.work_package} has not been booked",
            parsed,
        )
    return wp


def check_duties(parsed: ParsedEntry, store: Store) -> None:
    """capability_denied: no one who worked on the WP (its assignee, or who filed a claim
    or evidence for it) gives its `go` or accepts it (SPEC 10.5)."""
    body = parsed.entry.body
    if not isinstance(body, ReviewBody) or body.verdict not in DUTY_VERDICTS:
        return
    conflict = duty_conflict(store, parsed.entry.work_package, parsed.entry.principal)
    if conflict is not None:
        raise reject(
            RejectionCode.CAPABILITY_DENIED,
            f"{conflict}: it may not give a review '{body.verdict.value}'",
            parsed,
        )


def ref_edges(parsed: ParsedEntry, store: Store) -> list[dict[str, str]]:
    """bad_ref: every ref names an ingested entry (and its hash, when pinned). Returns the
    lineage edges the refs make."""
    entry = parsed.entry
    edges: list[dict[str, str]] = []
    for rel, raw in entry_refs(entry):
        ref = parse_ref(raw, entry.id)
        target = store.entry(ref.id)
        if target is None:
            raise reject(RejectionCode.BAD_REF, f"{rel} {ref.id!r} names no ingested entry", parsed)
        if ref.sha256 is not None and ref.sha256 != target["sha256"]:
            raise reject(
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


def check_assignee(parsed: ParsedEntry, wp: WorkPackageRow | None) -> None:
    """not_assignee: a claim or scope confirmation comes from the WP's assignee."""
    entry = parsed.entry
    if entry.kind not in ASSIGNEE_KINDS:
        return
    assert wp is not None
    if wp["assignee"] != entry.principal:
        assignee = wp["assignee"] or "nobody (not dispatched)"
        raise reject(
            RejectionCode.NOT_ASSIGNEE,
            f"{entry.principal} is not the assignee of {entry.work_package} ({assignee})",
            parsed,
        )


def check_transition(
    parsed: ParsedEntry,
    wp: WorkPackageRow | None,
    trigger: Trigger | None,
    store: Store,
) -> State | None:
    """illegal_transition: the entry's trigger may fire from the WP's state (and the
    kinds that fire none are taken only when they make sense). Returns the new state."""
    body = parsed.entry.body
    state = State(wp["state"]) if wp is not None else None
    if trigger is not None:
        try:
            return transition(state, trigger)
        except IllegalTransition as exc:
            raise reject(RejectionCode.ILLEGAL_TRANSITION, str(exc), parsed) from None
    if isinstance(body, ScopeConfirmationBody) and state is not State.DISPATCHED:
        raise reject(
            RejectionCode.ILLEGAL_TRANSITION,
            f"a scope confirmation is only taken while dispatched, not in state {state}",
            parsed,
        )
    if isinstance(body, CommonGroundBody):
        _check_common_ground_version(parsed, store)
    if isinstance(body, VetoBody) and wp is not None:
        problem = veto_lift_problem(wp, body.lift)
        if problem is not None:
            raise reject(RejectionCode.ILLEGAL_TRANSITION, problem.message, parsed)
    return None


def _check_common_ground_version(parsed: ParsedEntry, store: Store) -> None:
    body = parsed.entry.body
    assert isinstance(body, CommonGroundBody)
    versions = [
        int(e["body"]["version"])
        for e in store.entries(parsed.entry.work_package, Kind.COMMON_GROUND.value)
    ]
    expected = max(versions, default=0) + 1
    if body.version != expected:
        raise reject(
            RejectionCode.ILLEGAL_TRANSITION,
            f"common ground version {body.version} does not follow the latest version "
            f"{expected - 1} (expected {expected})",
            parsed,
        )
