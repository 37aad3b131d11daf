"""Ingest as a pipeline: parse → static checks → stateful checks (in SPEC 3.1 order) →
lifecycle → events → store.

Parsing and the hardened read happen in `entries`; the sweep calls `prepare` for an entry
outside any transaction (it may run git: the merge proof of a review that accepts a WP),
then `plan_entry` inside the store transaction that appends its events, so the checks and
the change see the same state and the database's write lock is never held while git runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.domain import ENTRY_EVENT_TYPES, RejectionCode, State, Verdict
from cockpit.engine.canon.intake import candidate_payload
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import (
    CandidateBody,
    ClaimBody,
    DispatchBody,
    EntryRejected,
    ParsedEntry,
    RecoveryBody,
    ReviewBody,
    ScopeConfirmationBody,
    VetoBody,
)
from cockpit.engine.entries.parse import check_paths
from cockpit.engine.gate.advisory import advisory_event
from cockpit.engine.gate.review_comments import Reviewed, check_review, review_basis
from cockpit.engine.ingest import checks
from cockpit.engine.lifecycle.effects import answer_edges, review_events, standing_go
from cockpit.engine.lifecycle.transitions import KIND_TRIGGERS, REVIEW_TRIGGERS, Trigger
from cockpit.engine.repo import worktrees
from cockpit.engine.trust import entries as trust_entries
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError, Refused
from cockpit.store import NewEvent, Store
from cockpit.store.rows import WorkPackageRow


@dataclass(frozen=True)
class Plan:
    """What ingesting one entry does: nothing (a duplicate) or these events."""

    duplicate: bool
    events: list[NewEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """What an entry's planning needs from outside the store, gathered before its
    transaction: for a review accepting a WP, the acceptance check of its admitted work
    (and merge proof); for a review naming a head or commenting on lines, that check
    (`review`, SPEC 11.2). Taken against `basis` (the WP's state and last verdict)."""

    basis: tuple[str, int] | None = None
    proof: dict[str, Any] | None = None
    refusal: str | None = None
    review: Reviewed | None = None


NOT_PREPARED = Prepared()  # what an entry that needs no preparation is planned with


class StalePreparation(CockpitError):
    """The WP moved between `prepare` and `plan_entry`: prepare again."""


def needs_preparation(parsed: ParsedEntry) -> bool:
    """True if `prepare` has work to do for this entry (git, outside any transaction): a
    review that accepts its WP, names a head or comments on lines. Every other entry is
    planned on the store alone."""
    body = parsed.entry.body
    return isinstance(body, ReviewBody) and (
        body.verdict is Verdict.ACCEPTED or bool(body.comments) or body.head is not None
    )


def _basis(body: ReviewBody, store: Store, wp: WorkPackageRow) -> tuple[str, int]:
    if body.verdict is Verdict.ACCEPTED:
        return worktrees.acceptance_basis(store, wp)
    return review_basis(store, wp)


def prepare(parsed: ParsedEntry, ws: Workspace, store: Store) -> Prepared:
    """Run, outside any transaction, the git checks an entry's planning depends on.
    Never raises for the entry's sake: a failed check is carried as `refusal`."""
    if not needs_preparation(parsed):
        return Prepared()
    wp = store.work_package(parsed.entry.work_package)
    if wp is None:
        return Prepared()
    body = parsed.entry.body
    assert isinstance(body, ReviewBody)
    basis = _basis(body, store, wp)
    try:
        proof = None
        if body.verdict is Verdict.ACCEPTED:
            proof = worktrees.acceptance_proof(ws, store, wp, body.merge_sha)
        comments = [c.model_dump(mode="json") for c in body.comments]
        review = check_review(ws, store, wp, body.verdict, body.head, comments)
    except Refused as exc:  # the admitted work changed, a head or comment does not hold
        return Prepared(basis, refusal=str(exc))
    return Prepared(basis, proof, review=review)


def entry_trigger(parsed: ParsedEntry) -> Trigger | None:
    """The lifecycle trigger an entry fires, or None for entries that change no state."""
    body = parsed.entry.body
    if isinstance(body, ReviewBody):
        return REVIEW_TRIGGERS.get(body.verdict.value)
    if isinstance(body, ScopeConfirmationBody) and not body.confirmed:
        return None
    return KIND_TRIGGERS.get(parsed.entry.kind)


def plan_entry(
    parsed: ParsedEntry,
    config: Config,
    store: Store,
    prepared: Prepared | None = None,
    sig: bytes | str | None = None,
) -> Plan:
    """Check one parsed entry against config and store; return the events it appends.

    Raises EntryRejected with the first failing stateful code, in SPEC 3.1 order:
    replay_conflict, tenant_mismatch, unknown_principal, unsigned, bad_signature,
    stale_entry, capability_denied, unknown_work_package, path_escape, bad_ref,
    not_assignee, illegal_transition. `sig` is the entry's NAME.sig (None if there is
    none; text if it could not be read, and why). A review accepting a WP needs
    `prepared` (from `prepare`); if the WP moved since, it raises StalePreparation.
    """
    entry = parsed.entry
    ingested, used = store.id_taken(entry.id)
    if ingested is not None:
        if ingested == parsed.sha256:
            return Plan(duplicate=True)
        raise checks.reject(
            RejectionCode.REPLAY_CONFLICT,
            f"entry id {entry.id} was already ingested with different content "
            f"(sha256 {ingested[:12]}…)",
            parsed,
        )
    if used is not None:
        raise checks.reject(
            RejectionCode.REPLAY_CONFLICT,
            f"entry id {entry.id} was used up by a signed entry rejected at seq {used}",
            parsed,
        )
    signature = trust_entries.read_signature(parsed, sig, config, store)
    try:
        events = _plan(parsed, config, store, prepared, signature)
    except EntryRejected as exc:
        if signature.valid:
            exc.signature = signature.payload
        raise
    for event in events:
        if event.principal == entry.principal and event.entry_id == entry.id:
            event.payload["signature"] = dict(signature.payload)
    return Plan(duplicate=False, events=events)


def _plan(
    parsed: ParsedEntry,
    config: Config,
    store: Store,
    prepared: Prepared | None,
    signature: trust_entries.Checked,
) -> list[NewEvent]:
    entry = parsed.entry
    checks.check_tenant(parsed, config)
    checks.check_principal(parsed, config)
    trust_entries.check_signature(parsed, signature, config, store.clock())
    checks.check_capability(parsed, config)
    wp = checks.known_work_package(parsed, store)
    if wp is not None:
        checks.check_duties(parsed, store)
    if isinstance(entry.body, DispatchBody) and wp is not None:
        checks.check_dispatch_target(parsed, config, wp)
    check_paths(entry)
    edges = checks.ref_edges(parsed, store)
    proof, review = _acceptance(parsed, wp, store, prepared)
    checks.check_assignee(parsed, wp)
    trigger = entry_trigger(parsed)
    target = checks.check_transition(parsed, wp, trigger, store)

    payload = _payload(parsed, config, store, edges)
    if proof is not None:
        payload["merge_proof"] = proof
    if review is not None:
        payload.update(review.payload())
    wp_id = entry.work_package
    if isinstance(entry.body, ReviewBody):
        assert wp is not None
        return review_events(wp, entry.body.verdict, entry.principal, entry.id, payload)
    if target is not None:
        payload["transition"] = {"from": wp["state"] if wp else None, "to": target.value}
    events = [NewEvent(ENTRY_EVENT_TYPES[entry.kind], wp_id, entry.principal, entry.id, payload)]
    lane = config.lanes.get(wp["lane"]) if wp is not None else None
    if target is State.SCOPE_CONFIRMED and lane is not None and lane.standing_go:
        events.append(standing_go(config, store, wp_id))
    if isinstance(entry.body, ClaimBody):
        assert wp is not None
        events.append(advisory_event(parsed, config, store, wp))
    return events


def _acceptance(
    parsed: ParsedEntry, wp: WorkPackageRow | None, store: Store, prepared: Prepared | None
) -> tuple[dict[str, Any] | None, Reviewed | None]:
    """For a review `accepted`: the prepared check of the admitted work and merge proof
    (SPEC 6); for a review naming a head or commenting on lines, their check (SPEC 11.2):
    still valid for the WP as it is now; bad_ref if one failed."""
    if not needs_preparation(parsed) or wp is None:
        return None, None
    body = parsed.entry.body
    assert isinstance(body, ReviewBody)
    if prepared is None or prepared.basis != _basis(body, store, wp):
        raise StalePreparation(parsed.entry.id)
    if prepared.refusal is not None:
        raise checks.reject(RejectionCode.BAD_REF, prepared.refusal, parsed)
    return prepared.proof, prepared.review


def _payload(
    parsed: ParsedEntry, config: Config, store: Store, edges: list[dict[str, str]]
) -> dict[str, Any]:
    """The main event's payload: the entry as ingested, its hash, file, raw text and
    lineage edges, plus what its kind adds."""
    entry = parsed.entry
    body = entry.body
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
    if isinstance(body, CandidateBody):
        payload.update(candidate_payload(parsed, body, config))
        payload["edges"] += [
            {"from": entry.id, "to": ref, "rel": "evidence"}
            for ref in dict.fromkeys(str(r).partition("@")[0] for r in body.evidence)
            if store.entry(ref) is not None
        ]
    if isinstance(body, RecoveryBody | ClaimBody):
        wp_events = store.events(entry.work_package)
        payload["edges"] += answer_edges(wp_events, entry.id, isinstance(body, ClaimBody))
    return payload
