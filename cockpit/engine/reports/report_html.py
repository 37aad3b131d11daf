"""The report as one self-contained HTML file: inline CSS, no script, nothing fetched.
Every text from the record is HTML-escaped; `[seq N]` pointers link to the event's row in
the "Events cited" table at the end, entry pointers are printed as `ID@sha256:HEX`. The
lineage is shown as a table and as its Mermaid source (no renderer runs offline)."""

from __future__ import annotations

from html import escape
from typing import Any

from cockpit.engine.reports.report_findings import USAGE_HEADERS, usage_cells, usage_total
from cockpit.engine.reports.report_mermaid import flowchart
from cockpit.engine.text import literal

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0 1em; width: 100%; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f4f4f6; }
td { overflow-wrap: anywhere; }
code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; white-space: pre; }
.ptr { white-space: nowrap; font-size: 12px; color: #0550ae; }
code.ptr { white-space: normal; overflow-wrap: anywhere; }
.kind { font-weight: 600; }
tr:target { background: #fff8c5; }
"""


def h(value: object) -> str:
    """`value` as HTML text showing exactly its characters (control characters visible)."""
    return escape(literal("" if value is None else value, keep_newlines=True), quote=True)


def pointer(p: dict[str, Any]) -> str:
    if "seq" in p:
        seq = int(p["seq"])
        return f'<a class="ptr" href="#seq-{seq}">[seq {seq}]</a>'
    return f'<code class="ptr">{h(p["entry"])}@sha256:{h(p["sha256"])}</code>'


def pointers(items: list[dict[str, Any]]) -> str:
    return " ".join(pointer(p) for p in items)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>\n" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"


def _facts(items: list[dict[str, Any]]) -> str:
    lines = "".join(f"<li>{h(i['text'])} {pointers(i['pointers'])}</li>\n" for i in items)
    return f"<ul>\n{lines}</ul>\n"


def to_html(doc: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    wp, through = doc["work_package"], doc["through"]
    title = f"Report on {wp}: {doc['title']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{h(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{h(title)}</h1>",
        f"<p>Built from the record alone: the audit chain's events of {h(wp)} through "
        f"{pointer({'seq': through['seq']})} (chain hash <code>{h(through['chain'])}</code>, "
        f"{h(through['ts'])}) and the entries they recorded. Each statement ends with what "
        "supports it: <code>[seq N]</code> is event N of <code>cockpit audit log</code>, "
        "<code>ID@sha256:HEX</code> an entry and the SHA-256 of its file.</p>",
        "<h2>Status</h2>",
        _table(
            ["Field", "Value", "Supported by"],
            [[h(r["field"]), h(r["value"]), pointers(r["pointers"])] for r in doc["status"]],
        ),
        _evidence(doc),
        "<h2>What was validated</h2>",
        _facts(doc["validated"]),
        "<h2>What was not validated or not touched</h2>",
        _facts(doc["not_validated"]),
        "<h2>Non-claims</h2><p>The evidence ladder, weakest class first:</p>",
        _table(
            ["Class", "Items", "Standing", "Supported by"],
            [
                [h(r["class"]), h(r["items"]), h(r["standing"]), pointers(r["pointers"])]
                for r in doc["ladder"]
            ],
        ),
        _facts(doc["non_claims"]),
        "<h2>Risks</h2><ul>",
        *[
            f'<li><span class="kind">{h(r["kind"])}</span>: {h(r["text"])} '
            f"{pointers(r['pointers'])}</li>"
            for r in doc["risks"]
        ],
        "</ul>",
        "<h2>Next gate</h2>",
        _next(doc["next_gate"]),
        "<h2>Agents' usage and cost</h2>",
        _usage(doc["usage"]),
        _lineage(doc),
        "<h2>Events cited</h2>",
        _events(doc["events_cited"]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _evidence(doc: dict[str, Any]) -> str:
    out = ["<h2>Evidence register</h2>"]
    if not doc["evidence"]:
        out.append(
            _facts(
                [
                    {
                        "text": "No evidence packet was filed.",
                        "pointers": [{"seq": doc["through"]["seq"]}],
                    }
                ]
            )
        )
    for packet in doc["evidence"]:
        held = (
            "held by the deciding gate run" if packet["gate_checked"] else "not held by a gate run"
        )
        out.append(f"<h3>{pointer({'entry': packet['entry'], 'sha256': packet['sha256']})}</h3>")
        out.append(
            f"<p>Filed by {h(packet['principal'])}, "
            + (
                "measured by the runner"
                if packet["measured_by"] == "runner"
                else f"stated by {h(packet['principal'])} (not measured by the runner)"
            )
            + "; "
            + f"quality: {h(packet['quality'] or '-')}; cited by "
            f"{pointers(packet['cited_by']) or 'no claim'}; {held}. "
            f"{pointers(packet['pointers'])}</p>"
        )
        rows = [
            [
                h(n),
                h(i["class"]),
                h(i["ref"]),
                f"<code>{h(i['file_sha256'])}</code>" if i["file_sha256"] else "-",
                f"<code>{h(i['command'])}</code>" if i["command"] else "-",
                h("-" if i["exit_code"] is None else i["exit_code"]),
                f"{h(i['output']['of'])}: <code>sha256:{h(i['output']['sha256'])}</code>"
                if i["output"]
                else "-",
                pointers(i["pointers"]),
            ]
            for n, i in enumerate(packet["items"], 1)
        ]
        if rows:
            out.append(
                _table(
                    [
                        "#",
                        "Class",
                        "Ref",
                        "File sha256",
                        "Command",
                        "Exit",
                        "Output",
                        "Supported by",
                    ],
                    rows,
                )
            )
    out.append("<h3>Claims</h3>")
    if not doc["claims"]:
        out.append(
            _facts([{"text": "No claim was filed.", "pointers": [{"seq": doc["through"]["seq"]}]}])
        )
    else:
        out.append(
            _table(
                ["Claim", "Done state", "Summary", "Evidence", "Unresolved", "Supported by"],
                [
                    [
                        h(c["entry"]),
                        h(c["done_state"]),
                        h(c["summary"] or "-"),
                        h(", ".join(c["evidence"]) or "-"),
                        h("; ".join(c["unresolved_questions"]) or "-"),
                        pointers(c["pointers"]),
                    ]
                    for c in doc["claims"]
                ],
            )
        )
    return "\n".join(out)


def _next(gate: dict[str, Any]) -> str:
    notes = "".join(f"; {h(n)}" for n in gate["notes"])
    return (
        f"<p>The work package is <strong>{h(gate['state'])}</strong>; its next gate is "
        f"<strong>{h(gate['gate'])}</strong>: {h(gate['who'])}{notes}. "
        f"{pointers(gate['pointers'])}</p>"
    )


def _usage(usage: dict[str, Any]) -> str:
    if not usage["runs"]:
        return _facts(
            [
                {
                    "text": "No agent run is on record for this work package.",
                    "pointers": usage["pointers"],
                }
            ]
        )
    rows = [
        [*(h(cell) for cell in usage_cells(run)), pointers(run["pointers"])]
        for run in usage["runs"]
    ]
    out = _table([*USAGE_HEADERS, "Supported by"], rows)
    if usage["total"]:
        out += f"<p>{h(usage_total(usage['total']))} {pointers(usage['pointers'])}</p>"
    return out


def _lineage(doc: dict[str, Any]) -> str:
    graph = doc["lineage"]
    nodes = _table(
        ["Event", "Node", "Kind", "Principal", "Outcome", "Entry"],
        [
            [
                pointer({"seq": n["seq"]}),
                h(n["id"]),
                h(n["kind"]),
                h(n["principal"] or "-"),
                h(n.get("outcome") or n.get("prediction") or "-"),
                pointer({"entry": n["id"], "sha256": n["sha256"]}) if "sha256" in n else "-",
            ]
            for n in graph["nodes"]
        ],
    )
    edges = (
        _table(
            ["From", "Relation", "To", "Recorded at"],
            [
                [
                    h(e["from"]),
                    h(e["rel"]),
                    h(e["to"]),
                    pointer({"seq": e["seq"]}) if e.get("seq") else "-",
                ]
                for e in graph["edges"]
            ],
        )
        if graph["edges"]
        else ""
    )
    return (
        "<h2>Lineage</h2>"
        + nodes
        + edges
        + "<p>The same lineage as Mermaid source (it renders on GitHub):</p>"
        + f"<pre>{escape(flowchart(graph))}</pre>"
    )


def _events(events: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{x}</th>" for x in ("Event", "Type", "Principal", "Event id", "Leaf hash"))
    rows = "".join(
        f'<tr id="seq-{int(e["seq"])}"><td>[seq {int(e["seq"])}]</td><td>{h(e["type"])}</td>'
        f"<td>{h(e['principal'] or '-')}</td><td><code>{h(e['event_id'])}</code></td>"
        f"<td><code>{h(e['leaf'])}</code></td></tr>\n"
        for e in events
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n"
