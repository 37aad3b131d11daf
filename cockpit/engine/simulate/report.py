"""A simulation's report as Markdown (`cockpit simulate --report FILE`): every figure as
`a/b` with its denominator, and the fault kinds the gated run did not catch, named."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cockpit.domain import Tier
from cockpit.engine.simulate.faults import FAULTS

TIER_ORDER = {tier.value: rank for rank, tier in enumerate(Tier)}


def ratio(value: dict[str, int]) -> str:
    """`a/b (p%)`, or `a/b` when b is 0."""
    num, den = value["num"], value["den"]
    if not den:
        return f"{num}/{den}"
    return f"{num}/{den} ({100 * num / den:.1f}%)"


def markdown(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    rates = drawn_rates(s["faults"])
    out = [
        "# Cockpit simulation: the gate against an ungated baseline",
        "",
        f"{plural(s['tasks'], 'work package')}, {plural(s['agents'], 'simulated agent')}, "
        f"seed {s['seed']}; "
        f"faults: {rates or 'none'}. Policy: signatures {s['signatures']}, failed_on "
        f"{', '.join(s['failed_on']) or 'none'}.",
        "",
        "Gated is the product as it is: the real queue, runner and gate. Ungated admits "
        "every claim as it is filed: each WP completes with its first claim, the gate and "
        "the queue's checks both off. It is computed from the same stream of draws, not run "
        "a second time. Ground truth (was the claim's work really done, in scope, "
        "validated, and claimed by its assignee) is the simulator's; the gate never sees it.",
        "",
        "| figure | gated | ungated |",
        "|---|---|---|",
        *(f"| {label} | {gated} | {ungated} |" for label, gated, ungated in figure_rows(doc)),
    ]
    for caveat in caveats(doc):
        out += ["", f"**{caveat}**"]
    advisory = doc["advisory"]
    out += [
        "",
        "## The advisory verifier against the ground truth",
        "",
        f"- agreement (risky on a faulty claim, safe on an honest one): "
        f"{ratio(advisory['agreement'])}",
        f"- false success (faulty among `safe_to_proceed`): {ratio(advisory['false_success'])}",
        f"- blocked precision (faulty among `risky`): {ratio(advisory['blocked_precision'])}",
        "",
        "## By fault",
        "",
        "| fault | attempts | admitted gated | admitted ungated (first claims) "
        "| meant to be caught by |",
        "|---|---|---|---|---|",
    ]
    for kind in FAULTS:
        row = doc["by_fault"][kind]
        out.append(
            f"| {kind} | {row['attempts']} | {row['admitted_gated']} | "
            f"{row['admitted_ungated']} | {row['caught_by']} |"
        )
    out += ["", "## What the gate did not catch", ""]
    if not doc["not_caught"]:
        out.append("Every faulty claim was withheld or refused: the gated run admitted none.")
    for item in doc["not_caught"]:
        tiers = ", ".join(f"{n} {tier}" for tier, n in item["by_tier"].items())
        out.append(f"- **{item['fault']}**: {item['admitted']} admitted ({tiers}). {why(item)}")
    return "\n".join(out) + "\n"


def drawn_rates(faults: dict[str, str]) -> str:
    """The fault kinds drawn (a rate above 0), in the engine's order, with their rates."""
    return ", ".join(
        f"{kind} {faults[kind]}" for kind in FAULTS if kind in faults and Decimal(faults[kind])
    )


def caveats(doc: dict[str, Any]) -> list[str]:
    """What a reader of the figures must know: gate runs that ended in an error (left out
    of the figures, which would count them as withholding), and WPs not driven to a
    decision."""
    out = []
    errors = doc["gate_errors"]
    if errors["num"]:
        out.append(
            f"{ratio(errors)} gate runs ended in an error (a predicate that could not be "
            "evaluated: the gate's environment, such as the sandbox); the figures leave them "
            "out."
        )
    left = doc["left"]
    if left:
        named = ", ".join(f"{item['work_package']} ({item['why']})" for item in left[:10])
        more = f" and {len(left) - 10} more" if len(left) > 10 else ""
        out.append(f"{len(left)} WPs were not driven to a decision: {named}{more}.")
    return out


def figure_rows(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, gated, ungated) for the report's main table, each share as `a/b (p%)`."""
    latency = doc["claim_to_decision_rounds"]
    rows = [
        ("WPs admitted", *_both(doc["admitted"])),
        ("false completions admitted (of admitted)", *_both(doc["false_completions_admitted"])),
        (
            "true completions withheld (of honest claims judged)",
            *_both(doc["true_completions_withheld"]),
        ),
        ("recovery cycles per WP", *_both(doc["recovery_cycles_per_wp"])),
        (
            f"rounds from first claim to admission, p50 / p95 (of {latency['count']})",
            f"{latency['p50']} / {latency['p95']}",
            "0 / 0",
        ),
    ]
    tiers = doc["events_per_wp_by_tier"]
    for tier in sorted(tiers, key=lambda name: (TIER_ORDER.get(name, len(TIER_ORDER)), name)):
        counts = tiers[tier]
        rows.append(
            (f"events per WP, {tier}", ratio_per(counts["gated"]), ratio_per(counts["ungated"]))
        )
    return rows


def _both(value: dict[str, Any]) -> tuple[str, str]:
    return ratio(value["gated"]), ratio(value["ungated"])


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def ratio_per(value: dict[str, int]) -> str:
    num, den = value["num"], value["den"]
    return f"{num}/{den} ({num / den:.1f})" if den else f"{num}/{den}"


# Why the gate, by design, cannot see a fault where it let one through.
WHY = {
    "premature_claim": "On a WP without validation commands (here: light, with no repository) "
    "the gate re-runs nothing, and the claim's own evidence says the work passed.",
    "forged_principal": "Under `policy.signatures: optional` an unsigned entry in the "
    "assignee's name is taken: only a required signature tells who wrote it.",
}


def why(item: dict[str, Any]) -> str:
    return WHY.get(
        item["fault"], "Not a fault the gate is built to catch in this policy; see the tiers."
    )
