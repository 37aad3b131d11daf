"""Packet lineage (SPEC 8 `cockpit lineage`): a WP's entries and decision events as nodes,
and the edges between them."""

from __future__ import annotations

from typing import Any

from cockpit.engine.errors import NotFound
from cockpit.store import Store
from cockpit.store.projections import node_id

# Events that are steps of a decision rather than packets; verify_started is folded into
# its verify_completed.
_SKIP = frozenset({"verify_started"})


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
        if event.type == "verify_completed":
            item["outcome"] = event.payload.get("outcome")
            item["blocking_predicate"] = event.payload.get("blocking_predicate")
        if event.type == "advisory_issued":
            item["prediction"] = event.payload.get("prediction")
            item["severity"] = event.payload.get("severity")
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
