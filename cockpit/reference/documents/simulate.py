"""The document of `cockpit simulate --json`: the gate against an ungated baseline, every
share as `{num, den}` (docs/simulate.md says what each figure means)."""

from __future__ import annotations

from cockpit.reference.documents.base import Document, _share, doc
from cockpit.reference.shapes import Shape, key


def _both(name: str, meaning: str) -> Shape:
    return key(
        name,
        "object",
        meaning,
        _share("gated", "The product as it is."),
        _share("ungated", "Every claim admitted on arrival."),
    )


DOCUMENTS: tuple[Document, ...] = (
    doc(
        "simulate",
        "object",
        "What the gate caught and what it cost, against the ungated baseline.",
        key("schema", "string", "`cockpit.simulation/v1`."),
        key(
            "settings",
            "object",
            "What was simulated.",
            key("tasks", "integer", "WPs booked."),
            key("agents", "integer", "Simulated agents."),
            key("seed", "integer", "The draw's seed."),
            key("faults", "map of string", "Each fault kind's rate (a decimal string)."),
            key("signatures", "string", "The policy's `signatures`."),
            key("failed_on", "array of string", "The policy's `failed_on`."),
            key("evidence_floors", "map of string", "Each tier's evidence floor."),
        ),
        key("work_packages", "integer", "WPs simulated."),
        _both("admitted", "WPs admitted, over WPs."),
        _both("false_completions_admitted", "Admitted WPs whose admitted claim was faulty."),
        _both(
            "true_completions_withheld",
            "Honest claims withheld, over honest claims judged (ungated: first claims).",
        ),
        _share("gate_errors", "Gate runs that ended in an error, over gate runs (left out)."),
        _both("recovery_cycles_per_wp", "Recovery packets, over WPs."),
        key(
            "claim_to_decision_rounds",
            "object",
            "Rounds from a WP's first claim to its admission.",
            key("p50", "integer | null", "Median."),
            key("p95", "integer | null", "95th percentile."),
            key("count", "integer", "Admitted WPs measured."),
        ),
        key(
            "events_per_wp_by_tier",
            "map of object",
            "Events over WPs, by tier: the gated record's, and an ungated one's.",
            _share("gated", "Events of the gated run."),
            _share("ungated", "Events up to the first claim, and one admission."),
        ),
        key(
            "advisory",
            "object",
            "The advisory verifier against the ground truth.",
            _share("agreement", "Predictions that matched the truth."),
            _share("false_success", "Faulty claims among those predicted safe."),
            _share("blocked_precision", "Faulty claims among those predicted risky."),
        ),
        key(
            "by_fault",
            "map of object",
            "Each fault kind.",
            key("attempts", "integer", "Claim attempts that carried it."),
            key("admitted_gated", "integer", "WPs the gated run admitted on such a claim."),
            key("admitted_ungated", "integer", "WPs whose first claim carried it."),
            key("caught_by", "string", "What in the product is meant to catch it."),
        ),
        key(
            "not_caught",
            "array of object",
            "Fault kinds the gated run admitted.",
            key("fault", "string", "The kind."),
            key("admitted", "integer", "WPs admitted on it."),
            key("by_tier", "map of integer", "Those WPs by tier."),
        ),
        key("admitted_work_packages", "array of string", "The WPs the gated run admitted."),
        key(
            "left",
            "array of object",
            "WPs not driven to a decision.",
            key("work_package", "string", "The WP."),
            key("why", "string", "Why: its booking refused, a state not driven, no rounds left."),
        ),
    ),
)
