"""Packet lineage (SPEC 8 `cockpit lineage`): a WP's entries and decision events as nodes,
and the edges between them."""

from __future__ import annotations

from typing import Any

from cockpit.domain import EventType
from cockpit.errors import NotFound
from cockpit.store import Store
from cockpit.store.projections import node_id, problem_of

# Events that are steps of a decision rather than packets; verify_started is folded into
# its verify_completed.
_SKIP = frozenset({EventType.VERIFY_STARTED})


def lineage(store: Store, wp_id: str) -> dict[str, Any]:
    """`{nodes, edges}` for one work package. Raises NotFound for an unknown WP."""
    if store.work_package(wp_id) is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    nodes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for event in store.events(wp_id):
        if event.type in _SKIP:
            continue
        node = node_id(event)
        if node in seen:
            continue  # a second event of the same entry (e.g. task_completed of a review)
        seen.add(node)
        item: dict[str, Any] = {
            "id": node,
            "kind": event.payload["entry"]["kind"] if "entry" in event.payload else event.type,
            "event": event.type,
            "seq": event.seq,
            "principal": event.principal,
            "ts": event.ts,
        }
        if "entry" in event.payload:
            item["sha256"] = event.payload["sha256"]
        if event.type == EventType.VERIFY_COMPLETED:
            item["outcome"] = event.payload.get("outcome")
            item["blocking_predicate"] = event.payload.get("blocking_predicate")
        if event.type == EventType.ADVISORY_ISSUED:
            item["prediction"] = event.payload.get("prediction")
            item["severity"] = event.payload.get("severity")
        if event.type == EventType.REVIEW_RECORDED and "head" in event.payload:
            item["head"] = event.payload.get("head")  # what it reviewed (SPEC 11.2)
            item["comments"] = [
                {k: c.get(k) for k in ("path", "line", "side", "text")}
                for c in event.payload.get("comments") or []
                if isinstance(c, dict)
            ]
        transition = event.payload.get("transition")
        if transition:
            item["transition"] = transition
        nodes.append(item)
    edges = [
        {"from": e["from_id"], "to": e["to_id"], "rel": e["rel"]}
        for e in store.edges(wp_id)
        if e["from_id"] in seen
    ]
    return {"work_package": wp_id, "nodes": nodes, "edges": edges}


def steps(store: Store, wp_id: str) -> list[dict[str, Any]]:
    """The WP's history as a reviewer steps through it: one step per event, with the state
    after it, the packet that arrived (its raw text) and, for a verify, the predicate table
    as the gate recorded it then. Raises NotFound for an unknown WP."""
    if store.work_package(wp_id) is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    state: str | None = None
    out: list[dict[str, Any]] = []
    for event in store.events(wp_id):
        transition = event.payload.get("transition")
        if transition:
            state = transition["to"]
        step: dict[str, Any] = {
            "seq": event.seq,
            "type": event.type,
            "ts": event.ts,
            "principal": event.principal,
            "entry_id": event.entry_id,
            "state": state,
            "transition": transition,
            "packet": None,
            "predicates": None,
            "summary": summarize(event.type, event.payload),
        }
        if "entry" in event.payload:
            step["packet"] = {
                "id": event.payload["entry"]["id"],
                "kind": event.payload["entry"]["kind"],
                "sha256": event.payload["sha256"],
                "raw": event.payload.get("raw", ""),
            }
        if event.type == EventType.VERIFY_COMPLETED:
            step["predicates"] = event.payload.get("predicates")
        out.append(step)
    return out


def summarize(event_type: str, payload: dict[str, Any]) -> str:
    """One line saying what the event decided, from its payload."""
    match event_type:
        case EventType.VERIFY_COMPLETED:
            blocking = payload.get("blocking_predicate")
            return f"{payload.get('outcome')}" + (f" on {blocking}" if blocking else "")
        case EventType.ADVISORY_ISSUED:
            return f"{payload.get('prediction')} ({payload.get('severity')})"
        case EventType.ADVISORY_DISMISSED:
            return f"dismissed {payload.get('advisory')}: {payload.get('reason')}"
        case EventType.MONITOR_FLAGGED:
            return f"{payload.get('flag')}: {payload.get('detail')}"
        case EventType.MONITOR_DISMISSED:
            return f"dismissed {payload.get('flag')}: {payload.get('reason')}"
        case EventType.OVERRIDE_APPLIED | EventType.TASK_CANCELLED:
            return f"reason: {payload.get('reason')}"
        case EventType.VETO_CHANGED:
            verb = "raised" if payload.get("active") else "lifted"
            return f"veto {verb}: {payload.get('reason')}"
        case EventType.RECOVERY_PACKET_CREATED:
            return f"owner {payload.get('recovery_owner')}: {payload.get('next_action')}"
        case EventType.REVIEW_RECORDED:
            head, comments = payload.get("head"), payload.get("comments") or []
            at = f" of {str(head)[:12]}" if head else ""
            noted = f", {len(comments)} comment(s) on lines{at}" if comments else ""
            return f"verdict {payload.get('verdict')}{noted}"
        case EventType.DISPATCHED:
            return f"to {payload.get('to')}"
        case EventType.ENTRY_REJECTED:
            return f"{payload.get('code')}: {payload.get('message')}"
        case EventType.WORKTREE_PROVISIONED:
            return f"{payload.get('branch')} from {str(payload.get('base_commit'))[:12]}"
        case EventType.WORKTREE_FAILED:
            return str(payload.get("error"))
        case EventType.AGENT_STARTED:
            return f"attempt {payload.get('attempt')}, next gate {payload.get('next_gate')}"
        case EventType.AGENT_EXITED:
            return problem_of(EventType.AGENT_EXITED, payload) or f"exit {payload.get('exit_code')}"
        case EventType.ROLLBACK_COMPLETED:
            kept = payload.get("failed_ref")
            return f"reason: {payload.get('reason')}" + (
                f"; failed work kept on {kept}" if kept else ""
            )
        case EventType.ROLLBACK_FAILED:
            return f"{payload.get('error')}"
        case _:
            return ""


def packet_diffs(store: Store, wp_id: str) -> list[dict[str, str]]:
    """Unified diffs between successive common-ground versions and successive claims."""
    import difflib
    import itertools

    diffs: list[dict[str, str]] = []
    for kind in ("common_ground", "claim"):
        packets = store.entries(wp_id, kind)
        for old, new in itertools.pairwise(packets):
            text = "".join(
                difflib.unified_diff(
                    (old["raw"] or "").splitlines(keepends=True),
                    (new["raw"] or "").splitlines(keepends=True),
                    fromfile=old["id"],
                    tofile=new["id"],
                )
            )
            diffs.append({"kind": kind, "from": old["id"], "to": new["id"], "diff": text})
    return diffs
