"""What the canon screen shows, rendered: plain data in, Rich renderables out. Agent-written
text (records, sources, details) is always rendered literally, never as markup."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cockpit.engine.canon import candidates as canon
from cockpit.screens.text import STATUS_STYLES, plain

MUTED = "#9ca3af"
GOOD, BAD = "#4ade80", "bold #f97316"


def last_gate_text(summary: dict[str, Any] | None) -> Text:
    if not summary:
        return Text("-", style="#6b7280")
    by = summary.get("by") or "?"
    if summary.get("commissioned"):
        return plain(f"commissioned by {by}", GOOD)
    return plain(f"refused ({by}): " + ", ".join(summary.get("failed") or []), BAD)


def candidate_cells(row: dict[str, Any]) -> list[Text]:
    clean = bool((row.get("redaction") or {}).get("clean"))
    state = row["state"]
    return [
        plain(row["id"], "bold"),
        plain(row["work_package"]),
        plain(row["principal"]),
        plain(state, GOOD if state == "commissioned" else "#facc15"),
        Text("clean", style=GOOD) if clean else Text("SECRETS", style="bold #ef4444"),
        last_gate_text(row.get("last_gate")),
    ]


def fields_grid(row: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style=MUTED, no_wrap=True, min_width=9)
    grid.add_column(ratio=1)
    redaction = row.get("redaction") or {}
    if redaction.get("clean"):
        scanned = Text(f"clean ({redaction.get('scanner', '?')})", style=GOOD)
    else:
        scanned = Text("secrets were found and redacted: ", style="bold #ef4444")
        scanned.append_text(plain(redaction.get("detail") or "?"))
    grid.add_row("record", plain(row["record"], keep_newlines=True))
    grid.add_row("source", plain(row.get("source") or "-"))
    grid.add_row("evidence", plain(", ".join(map(str, row.get("evidence") or [])) or "-"))
    grid.add_row("redaction", scanned)
    return grid


def checks_table(decision: canon.CanonDecision) -> Table:
    """The Canon Gate's checks in the gate's order, coloured like the verify predicates."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("check", no_wrap=True, min_width=22)
    table.add_column("status", no_wrap=True, min_width=14)
    table.add_column("detail", ratio=1)
    for name in canon.CHECKS:
        check = decision.checks[name]
        table.add_row(
            Text(name),
            Text(check.status, style=STATUS_STYLES.get(check.status, "")),
            plain(check.detail),
        )
    return table


def evaluation_text(evaluation: Any) -> RenderableType:
    if evaluation is None:
        return Text("the evaluator gave no recommendation", style=MUTED)
    head = Text()
    head.append("evaluator  ", style=MUTED)
    head.append(f"score {evaluation.score / 1000:.3f}", style="bold")
    head.append_text(plain(f"  {evaluation.method}", MUTED))
    parts: list[RenderableType] = [head, Padding(plain(evaluation.detail), (0, 0, 0, 11))]
    for near in evaluation.nearest:
        line = plain(near.canon_id, "bold")
        line.append(f"  similarity {near.similarity / 1000:.3f}", style=MUTED)
        if near.contradiction:
            line.append_text(plain(f"  possible contradiction: {near.contradiction}", BAD))
        line.append("  ")
        line.append_text(plain(near.record))
        parts.append(Padding(line, (0, 0, 0, 11)))
    return Group(*parts)


def refusal_text(candidate_id: str, decision: canon.CanonDecision) -> str:
    """Why the gate would refuse the candidate: each failed check with its detail."""
    failed = "; ".join(f"{n} ({decision.checks[n].detail})" for n in decision.failed)
    return f"The Canon Gate would refuse {candidate_id}: {failed}."


def gate_heading(principal: str, decision: canon.CanonDecision | None, note: str) -> Text:
    heading = Text()
    heading.append("Canon Gate as ", style="bold")
    heading.append_text(plain(principal, "bold #facc15"))
    if decision is not None:
        if decision.admits:
            heading.append("  would admit", style="bold #4ade80")
        else:
            heading.append("  would refuse: " + ", ".join(decision.failed), style=BAD)
    if note:
        heading.append_text(plain(f"  {note}", MUTED))
    return heading


def candidate_view(
    row: dict[str, Any],
    principal: str,
    decision: canon.CanonDecision | None,
    note: str = "",
) -> Group:
    heading = Text(end="\n")  # plain() ends without one
    heading.append_text(plain(row["id"], "bold"))
    heading.append_text(plain(f"  on {row['work_package']}", "#38bdf8"))
    if row["state"] == "commissioned":
        heading.append_text(plain(f"  canon as {row.get('canon_id')}", "bold #4ade80"))
    parts: list[RenderableType] = [
        heading,
        fields_grid(row),
        Text(""),
        gate_heading(principal, decision, note),
    ]
    if decision is not None:
        parts += [checks_table(decision), evaluation_text(decision.evaluation)]
    return Group(*parts)


def provenance_text(p: dict[str, Any] | None) -> Text:
    """candidate → WP → claim → evidence → verify → commissioning human."""
    if not p:
        return Text("provenance: -", style=MUTED)
    arrow = Text(" → ", style="#38bdf8")
    candidate = p.get("candidate") or {}
    wp = p.get("work_package") or {}
    claim = p.get("claim") or {}
    verify = p.get("verify") or {}
    evidence = ", ".join(str(e.get("id", "?")) for e in p.get("evidence") or []) or "-"
    steps = [
        plain(f"candidate {candidate.get('id')} by {candidate.get('author')}"),
        plain(
            f"{wp.get('id')} {wp.get('state')}" + (" (overridden)" if wp.get("overridden") else "")
        ),
        plain(f"claim {claim.get('id') or '-'}"),
        plain(f"evidence {evidence}"),
        plain(
            f"verify {verify.get('outcome')} @{verify.get('seq')} by {verify.get('verifier')}"
            if verify
            else "no verify"
        ),
        plain(f"commissioned by {p.get('commissioned_by')}", "bold #facc15"),
    ]
    line = Text()
    line.append("provenance  ", style=MUTED)
    for index, step in enumerate(steps):
        if index:
            line.append_text(arrow)
        line.append_text(step)
    return line


def canon_results(rows: list[dict[str, Any]], query: str) -> Group:
    if not rows:
        said = f"No canon record matches {query!r}." if query else "Canon is empty."
        return Group(Text(said, style=MUTED))
    found = f"{len(rows)} canon record{'s' if len(rows) != 1 else ''}"
    parts: list[RenderableType] = [
        Text(f"{found} matching {query!r}" if query else found, style=MUTED)
    ]
    for row in rows:
        head = Text(end="\n")  # plain() ends without one
        head.append_text(plain(row["id"], "bold"))
        head.append("  commissioned by ", style=MUTED)
        head.append_text(plain(row["commissioned_by"], "#facc15"))
        when = str(row["commissioned_at"])[:19].replace("T", " ")
        head.append(f" at {when} (seq {row['seq']})", style=MUTED)
        parts += [
            head,
            Padding(plain(row["record"], keep_newlines=True), (0, 0, 0, 2)),
            Padding(provenance_text(row.get("provenance")), (0, 0, 1, 2)),
        ]
    return Group(*parts)


# -- the screen ------------------------------------------------------------------------------
