"""The report's sections on what the WP does not claim and what could go wrong: the
evidence ladder and the non-claims, the risks on record (advisories, overrides, vetoes,
monitor flags, withheld gate runs, rejected entries, agent problems), and what its agents
used and cost (from `agent_exited.payload.usage`, tallied as `cockpit metrics` does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.domain import EventType, EvidenceClass
from cockpit.engine.reports.report_facts import fact, pin, ptr
from cockpit.engine.reports.usage import usage_metrics
from cockpit.store import Event
from cockpit.store.projections import problem_of

if TYPE_CHECKING:
    from cockpit.engine.reports.report_facts import Record


def ladder(r: Record) -> list[dict[str, Any]]:
    """SPEC 3's evidence ladder, weakest first: for each class, the WP's items of it."""
    strongest = _strongest(r)
    out = []
    for rank, name in enumerate(EvidenceClass):
        holding = [
            e for e in r.entries("evidence") if any(i.get("class") == name for i in _items(e))
        ]
        count = sum(1 for e in holding for i in _items(e) if i.get("class") == name)
        if count:
            standing = "reached"
        elif strongest is not None and rank < strongest:
            standing = "not filed (a stronger class was)"
        else:
            standing = "not reached"
        out.append(
            {
                "class": name.value,
                "items": count,
                "standing": standing,
                "pointers": [pin(e["id"], e["sha256"]) for e in holding] or _absence(r),
            }
        )
    return out


def _items(entry: dict[str, Any]) -> list[dict[str, Any]]:
    items = (entry["body"] or {}).get("items") or []
    return [i for i in items if isinstance(i, dict)]


def _strongest(r: Record) -> int | None:
    ranks = [
        EvidenceClass(i["class"]).rank
        for e in r.entries("evidence")
        for i in _items(e)
        if i.get("class") in set(EvidenceClass)
    ]
    return max(ranks) if ranks else None


def _absence(r: Record) -> list[dict[str, Any]]:
    """What an absence points at: the evidence the WP has (none of it holds the thing), or,
    with none, the WP's latest event (the record up to it holds none)."""
    return [pin(e["id"], e["sha256"]) for e in r.entries("evidence")] or [ptr(r.last)]


def non_claims(r: Record) -> list[dict[str, Any]]:
    """What the WP's packets do not claim: ladder classes its evidence did not reach,
    what its evidence lists as missing, a claim short of done, open questions and
    assumptions of its latest common ground."""
    out = []
    strongest = _strongest(r)
    above = [c.value for c in EvidenceClass if strongest is None or c.rank > strongest]
    if above:
        out.append(fact(f"The evidence does not reach: {', '.join(above)}.", *_absence(r)))
    for entry in r.entries("evidence"):
        for missing in (entry["body"] or {}).get("missing") or []:
            out.append(fact(f"Listed as missing: {missing}", pin(entry["id"], entry["sha256"])))
    claims = r.entries("claim")
    if not claims:
        out.append(fact("No claim was filed: nothing is claimed done.", ptr(r.last)))
    for claim in claims:
        body, me = claim["body"] or {}, pin(claim["id"], claim["sha256"])
        if body.get("done_state") != "done":
            out.append(fact(f"The claim says {body.get('done_state')}, not done.", me))
        for question in body.get("unresolved_questions") or []:
            out.append(fact(f"Unresolved question: {question}", me))
    grounds = r.entries("common_ground")
    if grounds:
        latest = grounds[-1]
        body, me = latest["body"] or {}, pin(latest["id"], latest["sha256"])
        for question in body.get("open_questions") or []:
            out.append(fact(f"Open question: {question}", me))
        for assumption in body.get("assumptions") or []:
            out.append(fact(f"Assumed, not proven: {assumption}", me))
    return out


def risks(r: Record) -> list[dict[str, Any]]:
    """Everything on record a reviewer should weigh, oldest first, each with its event."""
    out = []
    seqs = {e.seq for e in r.events}
    for event in r.events:
        said = _risk(event)
        if said is None:
            continue
        pointers = r.event_pointers(event)
        basis = event.payload.get("basis_seq")  # the event a monitor flag rests on
        if event.type == EventType.MONITOR_FLAGGED and basis in seqs and basis != event.seq:
            pointers.append({"seq": basis})
        out.append({"kind": said[0], **fact(said[1], *pointers)})
    unsigned = [e for e in r.events if _unsigned(e)]
    if unsigned:
        out.append(
            {
                "kind": "unsigned",
                **fact(
                    f"{len(unsigned)} of the WP's {len(r.events)} events carry no signature.",
                    *(ptr(e) for e in unsigned),
                ),
            }
        )
    if not out:
        out.append(
            {
                "kind": "none",
                **fact(
                    "No advisory, override, veto, monitor flag, withheld gate run, rejected "
                    "entry or agent problem is on record.",
                    ptr(r.last),
                ),
            }
        )
    return out


def _unsigned(event: Event) -> bool:
    signature = event.payload.get("signature")
    return not isinstance(signature, dict) or bool(signature.get("unsigned")) or not signature


def _risk(event: Event) -> tuple[str, str] | None:
    p = event.payload
    match event.type:
        case EventType.ADVISORY_ISSUED:
            reasons = "; ".join(str(x) for x in p.get("reasons") or [])
            return "advisory", (
                f"Advisory {p.get('id')} on {p.get('claim')}: {p.get('prediction')} "
                f"({p.get('severity')})" + (f": {reasons}" if reasons else "")
            )
        case EventType.ADVISORY_DISMISSED:
            return "advisory", (
                f"Advisory {p.get('advisory')} dismissed by {event.principal}: {p.get('reason')}"
            )
        case EventType.OVERRIDE_APPLIED:
            move = p.get("transition") or {}
            return "override", (
                f"Override by {event.principal}, {move.get('from')} to {move.get('to')}: "
                f"{p.get('reason')}"
            )
        case EventType.VETO_CHANGED:
            verb = "raised" if p.get("active") else "lifted"
            return "veto", f"Veto {verb} by {event.principal}: {p.get('reason')}"
        case EventType.MONITOR_FLAGGED:
            detail = p.get("detail")
            return "monitor", (
                f"The progress monitor flagged {p.get('reason')} ({p.get('flag')})"
                + (f": {detail}" if detail else "")
            )
        case EventType.MONITOR_DISMISSED:
            return "monitor", (
                f"Monitor flag {p.get('flag')} dismissed by {event.principal}: {p.get('reason')}"
            )
        case EventType.VERIFY_COMPLETED if p.get("outcome") != "success":
            blocking = p.get("blocking_predicate")
            result = (p.get("predicates") or {}).get(blocking or "") or {}
            detail = f": {result.get('detail')}" if isinstance(result, dict) and result else ""
            return "gate", (
                f"The gate's run was {p.get('outcome')}"
                + (f" on {blocking}{detail}" if blocking else "")
            )
        case EventType.ENTRY_REJECTED:
            return "rejected", (
                f"Entry {event.entry_id or p.get('file')} was rejected ({p.get('code')}): "
                f"{p.get('message')}"
            )
        case EventType.AGENT_FAILED | EventType.AGENT_EXITED | EventType.WORKTREE_FAILED:
            problem = problem_of(event.type, p)
            return ("agent", f"Agent run problem: {problem}") if problem else None
        case EventType.AGENT_STARTED if p.get("sandbox") == "none":
            return "sandbox", f"The agent {event.principal} ran without a sandbox."
        case EventType.RECOVERY_PACKET_CREATED:
            return "recovery", (
                f"Recovery by {event.principal}, owner {p.get('recovery_owner')}: "
                f"{p.get('next_action')}"
            )
        case EventType.SCOPE_CONFIRMED if p.get("confirmed") is False:
            return "scope", f"The scope was declined by {event.principal}."
        case EventType.REVIEW_RECORDED if p.get("verdict") in ("revision_required", "rejected"):
            return "review", f"Review by {event.principal}: {p.get('verdict')}"
        case EventType.ROLLBACK_COMPLETED | EventType.ROLLBACK_FAILED | EventType.TASK_CANCELLED:
            reason = p.get("reason") or p.get("error")
            return "closure", f"{event.type.replace('_', ' ').capitalize()}: {reason}"
        case EventType.CANDIDATE_CREATED if p.get("redacted"):
            detail = (p.get("redaction") or {}).get("detail")
            return "secret", f"Candidate {event.entry_id} held a secret (redacted): {detail}"
    return None


def usage(r: Record) -> dict[str, Any]:
    """Each agent run (its start and exit events, tokens, cost) and the WP's total as
    `cockpit metrics` tallies it."""
    exits = {e.payload.get("launch"): e for e in r.of(EventType.AGENT_EXITED)}
    runs = []
    for start in r.of(EventType.AGENT_STARTED):
        end = exits.get(start.seq)
        used = (end.payload.get("usage") if end else None) or {}
        runs.append(
            {
                "attempt": start.payload.get("attempt"),
                "principal": start.principal,
                "lane": start.payload.get("lane"),
                "stage": start.payload.get("stage"),
                "driver": (end.payload.get("driver") if end else None)
                or start.payload.get("driver"),
                "model": used.get("model"),
                "sandbox": start.payload.get("sandbox"),
                "exit_code": end.payload.get("exit_code") if end else None,
                "duration_ms": end.payload.get("duration_ms") if end else None,
                "input_tokens": used.get("input_tokens"),
                "output_tokens": used.get("output_tokens"),
                "cache_read_tokens": used.get("cache_read_tokens"),
                "cost_usd": used.get("cost_usd"),
                "turns": used.get("turns"),
                "session_id": used.get("session_id"),
                "pointers": [ptr(start)] + ([ptr(end)] if end else []),
            }
        )
    wp = r.row["id"]
    tally = usage_metrics(r.events, {wp: r.row["state"]})["by_work_package"].get(wp)
    counted = [
        ptr(e) for e in r.of(EventType.AGENT_EXITED) if isinstance(e.payload.get("usage"), dict)
    ]
    return {
        "runs": runs,
        "total": tally,
        "pointers": counted
        or ([ptr(r.of(EventType.AGENT_STARTED)[-1])] if runs else [ptr(r.last)]),
    }


USAGE_HEADERS = (
    "Run", "Agent", "Lane", "Stage", "Driver", "Model", "Sandbox", "Exit", "Took",
    "Tokens in/out/cache", "Cost",
)  # fmt: skip


def usage_cells(run: dict[str, Any]) -> list[str]:
    """One agent run as the usage table's plain cells (USAGE_HEADERS; a renderer escapes
    them and adds the run's pointers)."""
    tokens = "/".join(
        "-" if run[k] is None else str(run[k])
        for k in ("input_tokens", "output_tokens", "cache_read_tokens")
    )
    return [
        str(run["attempt"]),
        str(run["principal"]),
        str(run["lane"]),
        str(run["stage"]),
        str(run["driver"] or "command"),
        str(run["model"] or "-"),
        str(run["sandbox"] or "-"),
        "-" if run["exit_code"] is None else str(run["exit_code"]),
        "-" if run["duration_ms"] is None else f"{run['duration_ms']} ms",
        tokens,
        f"${run['cost_usd']}" if run["cost_usd"] else "not reported",
    ]


def usage_total(total: dict[str, Any]) -> str:
    """The runs' totals in one plain sentence."""
    cost = f"${total['cost_usd']}" if total["runs_with_cost"] else "no cost reported"
    return (
        f"Total: {total['runs']} run(s), {total['input_tokens']} input / "
        f"{total['output_tokens']} output / {total['cache_read_tokens']} cache-read tokens, "
        f"{cost} ({total['runs_with_cost']} of {total['runs']} runs reported a cost)."
    )
