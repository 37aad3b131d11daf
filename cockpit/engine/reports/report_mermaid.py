"""The lineage as a Mermaid `flowchart` that GitHub renders: `cockpit lineage`'s edges
exactly, between nodes with safe ids (`n1`, `n2`, ...) whose quoted labels carry the real
ids. Every label character outside a small safe set is written as a Mermaid entity code
(`#35;`), so no text can end a label, a line or the fenced block."""

from __future__ import annotations

import re
from typing import Any

from cockpit.domain import EventType

# Events drawn even when no edge touches them: the decisions a reviewer looks for.
DECISIONS = frozenset(
    {
        EventType.VERIFY_COMPLETED,
        EventType.ADVISORY_ISSUED,
        EventType.ADVISORY_DISMISSED,
        EventType.OVERRIDE_APPLIED,
        EventType.VETO_CHANGED,
        EventType.TASK_COMPLETED,
        EventType.TASK_CANCELLED,
        EventType.ROLLBACK_COMPLETED,
        EventType.ROLLBACK_FAILED,
        EventType.REVIEW_RECORDED,
        EventType.MONITOR_FLAGGED,
        EventType.MONITOR_DISMISSED,
    }
)
_SAFE = re.compile(r"[A-Za-z0-9 ._:@/+=,()·-]")
_WORD = re.compile(r"[^a-z0-9_]")
CLASSES = (
    "    classDef accepted fill:#dcf5e3,stroke:#2e7d32",
    "    classDef withheld fill:#fde2e1,stroke:#c62828",
    "    classDef outside stroke-dasharray:4 3",
)


def label(text: str) -> str:
    """`text` as the inside of a quoted Mermaid label."""
    return "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in text)


def drawn(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """The lineage nodes the diagram draws: entries, decisions, and events an edge touches."""
    touched = {e["from"] for e in graph["edges"]} | {e["to"] for e in graph["edges"]}
    return [
        n for n in graph["nodes"] if "sha256" in n or n["event"] in DECISIONS or n["id"] in touched
    ]


def flowchart(graph: dict[str, Any]) -> str:
    """The Mermaid source (without the fence) of `graph`, a `lineage()` document."""
    lines = ["flowchart TD"]
    ids: dict[str, str] = {}
    marks: dict[str, list[str]] = {"accepted": [], "withheld": [], "outside": []}
    for node in drawn(graph):
        nid = ids[node["id"]] = f"n{len(ids) + 1}"
        extra = node.get("outcome") or node.get("prediction")
        text = f"{node['id']} · {node['kind']}" + (f" · {extra}" if extra else "")
        shape = ('["', '"]') if "sha256" in node else ('("', '")')
        lines.append(f"    {nid}{shape[0]}{label(text)}{shape[1]}")
        if node.get("outcome") == "success":
            marks["accepted"].append(nid)
        elif node.get("outcome") in ("blocked", "failed"):
            marks["withheld"].append(nid)
    for edge in graph["edges"]:
        for end in (edge["from"], edge["to"]):
            if end not in ids:  # an entry of another WP, or an event not drawn
                nid = ids[end] = f"n{len(ids) + 1}"
                lines.append(f'    {nid}("{label(end)} · outside this report")')
                marks["outside"].append(nid)
    for edge in graph["edges"]:
        rel = _WORD.sub("_", str(edge["rel"]).lower()) or "rel"
        lines.append(f"    {ids[edge['from']]} -->|{rel}| {ids[edge['to']]}")
    lines += CLASSES
    lines += [f"    class {','.join(nids)} {name}" for name, nids in marks.items() if nids]
    return "\n".join(lines)
