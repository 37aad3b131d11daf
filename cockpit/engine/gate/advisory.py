"""The advisory verifier (PGV): a rule layer that reads a claim's packets, before the gate
runs, and predicts `safe_to_proceed` or `risky`.

It never gates, with one exception the gate enforces: a `serious` advisory (the claim
contradicts its own packets) must be dismissed before success. Metrics compare its
predictions with the gate's outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.domain import EventType, EvidenceClass, Tier
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import ParsedEntry
from cockpit.engine.gate.facts import Packet
from cockpit.store import NewEvent, Store
from cockpit.store.rows import WorkPackageRow

# The advisory verifier is a rule layer of the engine, not a configured principal.
ADVISORY_PRINCIPAL = "cockpit:advisory"

SAFE = "safe_to_proceed"
RISKY = "risky"


@dataclass(frozen=True)
class Advisory:
    id: str
    claim: str
    prediction: str
    severity: str
    reasons: list[str]

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim": self.claim,
            "prediction": self.prediction,
            "severity": self.severity,
            "reasons": self.reasons,
        }


def advisory_id(claim_id: str) -> str:
    """One advisory per claim: `ADV-<claim id>` (never truncated, so never shared)."""
    return f"ADV-{claim_id}"


def assess(
    claim: Packet, packets: dict[str, Packet], wp: WorkPackageRow, config: Config
) -> Advisory:
    """Predict from the packets alone whether this claim is safe to proceed."""
    body = claim.body
    serious: list[str] = []
    warnings: list[str] = []
    evidence = [
        packets[str(r).partition("@")[0]]
        for r in body.get("evidence") or []
        if str(r).partition("@")[0] in packets
    ]
    for packet in evidence:
        for item in packet.body.get("items") or []:
            code = item.get("exit_code")
            if code not in (None, 0):
                serious.append(
                    f"evidence {packet.id} reports {item.get('command') or item['ref']!r} "
                    f"exited {code}, yet the claim says {body.get('done_state')}"
                )
        for missing in packet.body.get("missing") or []:
            if "not_proven" in str(missing):
                serious.append(f"evidence {packet.id} lists {missing!r} as not proven")
    if body.get("done_state") != "done":
        warnings.append(f"claim says done_state {body.get('done_state')!r}")
    if not evidence:
        warnings.append("claim cites no evidence")
    if body.get("unresolved_questions"):
        warnings.append(f"{len(body['unresolved_questions'])} unresolved question(s) on the claim")
    floor = EvidenceClass(wp.get("evidence_floor") or config.evidence_floor(Tier(wp["tier"])))
    classes = [EvidenceClass(i["class"]) for p in evidence for i in p.body.get("items") or []]
    if evidence and (not classes or max(c.rank for c in classes) < floor.rank):
        warnings.append(f"evidence does not reach the floor {floor.value}")
    pin = body.get("common_ground") or {}
    grounds = sorted(
        (p for p in packets.values() if p.kind == "common_ground" and p.work_package == wp["id"]),
        key=lambda p: int(p.body.get("version", 0)),
    )
    if not pin:
        warnings.append("claim names no common ground")
    elif grounds and (grounds[-1].id != pin.get("id") or grounds[-1].sha256 != pin.get("hash")):
        warnings.append(
            f"claim pins {pin.get('id')}, not the latest common ground {grounds[-1].id}"
        )
    if grounds and grounds[-1].body.get("open_questions"):
        warnings.append("the common ground still has open questions")
    for key in ("owner", "accountable"):
        if body.get(key) != wp.get(key):
            warnings.append(f"claim {key} {body.get(key)!r} differs from the WP's {wp.get(key)!r}")
    reasons = serious + warnings
    return Advisory(
        id=advisory_id(claim.id),
        claim=claim.id,
        prediction=RISKY if reasons else SAFE,
        severity="serious" if serious else ("warning" if warnings else "info"),
        reasons=reasons or ["the packets are consistent with the claim"],
    )


def advisory_event(
    parsed: ParsedEntry, config: Config, store: Store, wp: WorkPackageRow
) -> NewEvent:
    """The advisory verifier's prediction for a new claim, issued before any gate run."""
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
