"""The report as GitHub-flavoured Markdown. Pointers are printed as `[seq N]` (an event of
the chain) and `` `ID@sha256:HEX` `` (an entry as ingested); text from the record is
escaped so that it can neither format the page, break a table cell, nor forge a pointer
(every character Markdown could read as syntax is backslash-escaped, `@` included)."""

from __future__ import annotations

import re
from typing import Any

from cockpit.engine.reports.report_findings import USAGE_HEADERS, usage_cells, usage_total
from cockpit.engine.reports.report_mermaid import flowchart
from cockpit.engine.text import clip, literal

_SPECIAL = re.compile(r"[\\`*\[\]<>|#~&@$]")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_NEWLINES = re.compile(r"\r\n|\r|\n")
# What GitHub's autolinking would turn into a link: `scheme://` and `www.` (an e-mail
# address needs an `@`, escaped above). An escaped `:` or `.` splits the text it matches.
_AUTOLINK = re.compile(r"(?<=[A-Za-z0-9]):(?=//)|(?i:(?<=\bwww))\.")


def text(value: object, width: int | None = None) -> str:
    """`value` as inline Markdown that shows exactly its characters: one line, control
    characters visible, syntax escaped, no text made a link; cut at `width` when given
    (the report itself cuts nothing: it is meant to be complete)."""
    plain = "" if value is None else str(value)
    plain = literal(_NEWLINES.sub(" ⏎ ", plain))
    if width is not None:
        plain = clip(plain, width)
    plain = _SPECIAL.sub(lambda m: "\\" + m.group(0), plain)
    plain = _AUTOLINK.sub(lambda m: "\\" + m.group(0), plain)
    return _LONE_UNDERSCORE.sub(r"\\_", plain)


def pointer(p: dict[str, Any]) -> str:
    if "seq" in p:
        return f"[seq {int(p['seq'])}]"
    return f"`{p['entry']}@sha256:{p['sha256']}`"


def pointers(items: list[dict[str, Any]]) -> str:
    return " ".join(pointer(p) for p in items)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*out, ""]


def _facts(items: list[dict[str, Any]]) -> list[str]:
    return [f"- {text(item['text'])} {pointers(item['pointers'])}" for item in items] + [""]


def to_markdown(doc: dict[str, Any]) -> str:
    """The whole report as one Markdown document."""
    wp, through = doc["work_package"], doc["through"]
    out = [
        f"# Report on {text(wp)}: {text(doc['title'])}",
        "",
        f"Built from the record alone: the audit chain's events of {text(wp)} through "
        f"[seq {through['seq']}] (chain hash `{through['chain']}`, {text(through['ts'])}) and the "
        "entries they recorded. Each statement ends with what supports it: `[seq N]` is event "
        "N of `cockpit audit log`, `` `ID@sha256:HEX` `` an entry and the SHA-256 of its file.",
        "",
        "## Status",
        "",
        *_table(
            ["Field", "Value", "Supported by"],
            [[text(r["field"]), text(r["value"]), pointers(r["pointers"])] for r in doc["status"]],
        ),
        *_evidence(doc),
        "## What was validated",
        "",
        *_facts(doc["validated"]),
        "## What was not validated or not touched",
        "",
        *_facts(doc["not_validated"]),
        "## Non-claims",
        "",
        "The evidence ladder, weakest class first:",
        "",
        *_table(
            ["Class", "Items", "Standing", "Supported by"],
            [
                [r["class"], str(r["items"]), text(r["standing"]), pointers(r["pointers"])]
                for r in doc["ladder"]
            ],
        ),
        *_facts(doc["non_claims"]),
        "## Risks",
        "",
        *[
            f"- **{text(r['kind'])}**: {text(r['text'])} {pointers(r['pointers'])}"
            for r in doc["risks"]
        ],
        "",
        "## Next gate",
        "",
        *_next(doc["next_gate"]),
        "## Agents' usage and cost",
        "",
        *_usage(doc["usage"]),
        *_lineage(doc),
        "## Events cited",
        "",
        *_table(
            ["Event", "Type", "Principal", "Event id", "Leaf hash"],
            [
                [
                    f"[seq {e['seq']}]",
                    text(e["type"]),
                    text(e["principal"] or "-"),
                    e["event_id"],
                    f"`{e['leaf']}`",
                ]
                for e in doc["events_cited"]
            ],
        ),
    ]
    return "\n".join(out).rstrip("\n") + "\n"


def _evidence(doc: dict[str, Any]) -> list[str]:
    out = ["## Evidence register", ""]
    if not doc["evidence"]:
        out += [f"- No evidence packet was filed. [seq {doc['through']['seq']}]", ""]
    for packet in doc["evidence"]:
        me = f"`{packet['entry']}@sha256:{packet['sha256']}`"
        cited = pointers(packet["cited_by"]) or "no claim"
        held = (
            "held by the deciding gate run" if packet["gate_checked"] else "not held by a gate run"
        )
        out += [
            f"### {me}",
            "",
            f"- Filed by {text(packet['principal'])}, {_measured(packet)};"
            f" quality: {text(packet['quality'] or '-')}; cited by {cited}; {held}."
            f" {pointers(packet['pointers'])}",
            "",
        ]
        rows = []
        for n, item in enumerate(packet["items"], 1):
            output = item["output"]
            rows.append(
                [
                    str(n),
                    text(item["class"]),
                    text(item["ref"]),
                    f"`{item['file_sha256']}`"
                    if _hex(item["file_sha256"])
                    else text(item["file_sha256"] or "-"),
                    text(item["command"] or "-"),
                    text("-" if item["exit_code"] is None else item["exit_code"]),
                    f"{text(output['of'])}: `sha256:{output['sha256']}`" if output else "-",
                    pointers(item["pointers"]),
                ]
            )
        if rows:
            out += _table(
                ["#", "Class", "Ref", "File sha256", "Command", "Exit", "Output", "Supported by"],
                rows,
            )
    out += ["### Claims", ""]
    if not doc["claims"]:
        out += [f"- No claim was filed. [seq {doc['through']['seq']}]", ""]
    else:
        out += _table(
            ["Claim", "Done state", "Summary", "Evidence", "Unresolved", "Supported by"],
            [
                [
                    text(c["entry"]),
                    text(c["done_state"]),
                    text(c["summary"] or "-"),
                    text(", ".join(c["evidence"]) or "-"),
                    text("; ".join(c["unresolved_questions"]) or "-"),
                    pointers(c["pointers"]),
                ]
                for c in doc["claims"]
            ],
        )
    return out


def _measured(packet: dict[str, Any]) -> str:
    if packet["measured_by"] == "runner":
        return "measured by the runner"
    return f"stated by {text(packet['principal'])} (not measured by the runner)"


def _hex(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _next(gate: dict[str, Any]) -> list[str]:
    notes = "".join(f"; {text(n)}" for n in gate["notes"])
    return [
        f"- The work package is **{text(gate['state'])}**; its next gate is "
        f"**{text(gate['gate'])}**: {text(gate['who'])}{notes}. {pointers(gate['pointers'])}",
        "",
    ]


def _usage(usage: dict[str, Any]) -> list[str]:
    if not usage["runs"]:
        return [
            "- No agent run is on record for this work package. " + pointers(usage["pointers"]),
            "",
        ]
    rows = [
        [*(text(cell) for cell in usage_cells(run)), pointers(run["pointers"])]
        for run in usage["runs"]
    ]
    out = _table([*USAGE_HEADERS, "Supported by"], rows)
    if usage["total"]:
        out += [f"- {text(usage_total(usage['total']))} {pointers(usage['pointers'])}", ""]
    return out


def _lineage(doc: dict[str, Any]) -> list[str]:
    graph = doc["lineage"]
    out = ["## Lineage", "", "```mermaid", flowchart(graph), "```", ""]
    out += _table(
        ["Event", "Node", "Kind", "Principal", "Outcome", "Entry"],
        [
            [
                f"[seq {n['seq']}]",
                text(n["id"]),
                text(n["kind"]),
                text(n["principal"] or "-"),
                text(n.get("outcome") or n.get("prediction") or "-"),
                f"`{n['id']}@sha256:{n['sha256']}`" if "sha256" in n else "-",
            ]
            for n in graph["nodes"]
        ],
    )
    if graph["edges"]:
        out += _table(
            ["From", "Relation", "To", "Recorded at"],
            [
                [
                    text(e["from"]),
                    text(e["rel"]),
                    text(e["to"]),
                    f"[seq {e['seq']}]" if e.get("seq") else "-",
                ]
                for e in graph["edges"]
            ],
        )
    return out
