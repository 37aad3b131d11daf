"""What the record says of a complete WP, for its delivery: the gate run that admitted the
work that was accepted, the acceptance, the reviews, the entries' hashes. Read from events
alone (no git), so the pull request's body and the provenance predicate say only what the
audit chain holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.repo.verified import at_acceptance
from cockpit.store import Event, Store
from cockpit.store.rows import WorkPackageRow

_GATE_KEYS = ("outcome", "acceptance_status", "mode", "blocking_predicate")


@dataclass(frozen=True)
class Acceptance:
    """How a complete WP got there: its admitting gate run (`verify`), the review that
    accepted it (`review`, None when an entry or the record holds none) and the
    `task_completed` event, whose signature is the acceptance's."""

    verify: Event
    completed: Event
    review: Event | None
    head: str | None  # the verified head at acceptance (cockpit.engine.repo.verified)
    tree: str | None  # its tree: the content the gate verified


def acceptance(store: Store, wp_id: str) -> Acceptance | None:
    """The WP's acceptance as the record holds it, or None when it has none (never
    accepted, or moved to complete by an override without a gate run that admitted it)."""
    events = store.events(wp_id)
    completed = next((e for e in reversed(events) if e.type == EventType.TASK_COMPLETED), None)
    if completed is None:
        return None
    before = [e for e in events if e.seq < completed.seq]
    verified = at_acceptance(events)
    verify = next(
        (
            e
            for e in reversed(before)
            if e.type == EventType.VERIFY_COMPLETED
            and e.payload.get("outcome") == "success"
            and (verified is None or e.seq == verified.seq)
        ),
        None,
    )
    if verify is None:
        return None
    review = next(
        (
            e
            for e in reversed(before)
            if e.type == EventType.REVIEW_RECORDED and e.payload.get("verdict") == "accepted"
        ),
        None,
    )
    return Acceptance(
        verify,
        completed,
        review,
        verified.head if verified else None,
        verified.tree if verified else None,
    )


def override_since_admitted(store: Store, wp_id: str) -> Event | None:
    """The first `override_applied` after the WP's last admitting gate run (None: none,
    or no gate run admitted it)."""
    events = store.events(wp_id)
    admitted = [
        e.seq
        for e in events
        if e.type == EventType.VERIFY_COMPLETED and e.payload.get("outcome") == "success"
    ]
    if not admitted:
        return None
    return next(
        (e for e in events if e.type == EventType.OVERRIDE_APPLIED and e.seq > admitted[-1]),
        None,
    )


def deliveries(store: Store, wp_id: str) -> list[Event]:
    """The WP's `delivered` events, oldest first."""
    return store.find_events(types=(EventType.DELIVERED,), work_package=wp_id, limit=100)


def _pin(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: value[k] for k in ("id", "sha256", "version") if k in value}


def _signature(payload: dict[str, Any]) -> dict[str, Any] | None:
    signature = payload.get("signature")
    if not isinstance(signature, dict):
        return None
    if signature.get("unsigned"):
        return {"unsigned": True}
    return {k: signature.get(k) for k in ("signer", "namespace", "sig", "signed")}


def gate(accepted: Acceptance) -> dict[str, Any]:
    """The admitting gate run: its seq, outcome and every predicate's status and detail."""
    payload = accepted.verify.payload
    predicates = payload.get("predicates") or {}
    return {
        "seq": accepted.verify.seq,
        **{key: payload.get(key) for key in _GATE_KEYS},
        "predicates": {
            name: {"status": r.get("status"), "detail": r.get("detail")}
            for name, r in predicates.items()
            if isinstance(r, dict)
        },
        "validation": [
            {k: v.get(k) for k in ("command", "exit_code")}
            for v in payload.get("validation") or []
            if isinstance(v, dict)
        ],
    }


def packets(accepted: Acceptance) -> dict[str, Any]:
    """The claim, evidence and common ground the gate admitted, by id and sha256."""
    payload = accepted.verify.payload
    return {
        "claim": _pin(payload.get("claim")),
        "evidence": [p for p in (_pin(e) for e in payload.get("evidence") or []) if p],
        "common_ground": _pin(payload.get("common_ground")),
    }


def reviews(store: Store, wp_id: str) -> list[dict[str, Any]]:
    """Every review of the WP: who, which verdict, at which seq, its findings, signed by."""
    found = []
    for event in store.find_events(
        types=(EventType.REVIEW_RECORDED,), work_package=wp_id, limit=10_000
    ):
        signature = event.payload.get("signature") or {}
        found.append(
            {
                "seq": event.seq,
                "principal": event.principal,
                "verdict": event.payload.get("verdict"),
                "findings": [str(f) for f in event.payload.get("findings") or []],
                "signer": signature.get("signer") if isinstance(signature, dict) else None,
            }
        )
    return found


def acceptance_record(accepted: Acceptance) -> dict[str, Any]:
    """Who accepted the WP, at which seq, and the signature that proves it."""
    event = accepted.review or accepted.completed
    return {
        "seq": event.seq,
        "principal": event.principal,
        "signature": _signature(event.payload),
    }


def claim_summary(store: Store, accepted: Acceptance) -> str | None:
    """The admitted claim's summary: the agent's own words (untrusted)."""
    claim = _pin(accepted.verify.payload.get("claim")) or {}
    row = store.entry(str(claim.get("id") or ""))
    body = (row or {}).get("body") or {}
    summary = body.get("summary") if isinstance(body, dict) else None
    return str(summary) if summary else None


def booking(wp: WorkPackageRow) -> dict[str, Any]:
    """The WP as the owner booked it (what it was for)."""
    return {
        "id": wp["id"],
        "title": wp["title"],
        "objective": wp.get("objective"),
        "success_criteria": list(wp.get("success_criteria") or []),
        "tier": wp.get("tier"),
        "target_repo": wp.get("target_repo"),
    }
