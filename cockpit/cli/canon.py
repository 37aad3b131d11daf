"""Candidates and canon: `cockpit candidates`, `cockpit commission`, `cockpit canon`."""

from __future__ import annotations

import sys
from typing import Any

import click

from cockpit.cli.base import (
    as_option,
    cli,
    emit_json,
    json_option,
    opened,
    say,
    signing_key,
    table,
    workspace_option,
)
from cockpit.domain import CandidateState


@cli.command("candidates")
@click.option(
    "--state",
    type=click.Choice([s.value for s in CandidateState]),
    help="Only candidates in this state.",
)
@workspace_option
@json_option
def candidates_cmd(state: str | None, as_json: bool) -> int:
    """List candidate memory records (secrets are shown redacted)."""
    from cockpit.engine.canon.candidates import candidate_json

    with opened(read_only=True) as (_ws, store):
        rows = [candidate_json(r) for r in store.candidates(state)]
    if as_json:
        emit_json(rows)
        return 0
    if not rows:
        say("No candidates yet.")
        return 0
    say(
        table(
            [
                (
                    r["id"],
                    r["work_package"],
                    r["principal"],
                    r["state"],
                    "clean" if (r["redaction"] or {}).get("clean") else "SECRETS",
                    _last_gate(r["last_gate"]),
                    r["record"].splitlines()[0] if r["record"] else "",
                )
                for r in rows
            ],
            ("id", "wp", "author", "state", "redaction", "last gate", "record"),
        )
    )
    return 0


def _last_gate(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    if summary.get("commissioned"):
        return "commissioned"
    return "refused: " + ", ".join(summary.get("failed") or [])


@cli.command("commission")
@click.argument("candidate")
@as_option
@workspace_option
@json_option
def commission_cmd(candidate: str, as_principal: str | None, as_json: bool) -> int:
    """Run the Canon Gate on a candidate and, if every check holds, make it canon."""
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.canon import candidates as canon
    from cockpit.engine.text import literal
    from cockpit.engine.trust.actions import person_signer

    with opened() as (ws, store):
        by = resolve_principal(ws, as_principal)
        sign = person_signer(ws, by, signing_key())
        result = canon.commission(ws, store, candidate, by, sign=sign)
    document = {"candidate": candidate, **result.to_json()}
    if as_json:
        emit_json(document)
    else:
        for name in canon.CHECKS:
            check = result.decision.checks[name]
            say(literal(f"  {check.status:<14} {name:<21} {check.detail}"))
        if result.decision.admits:
            say(f"{candidate} is canon now (by {by}).")
    if not result.decision.admits:
        failed = ", ".join(result.decision.failed)
        print(
            literal(f"cockpit: the Canon Gate refused {candidate}: {failed}."),
            file=sys.stderr,
        )
        return 1
    return 0


@cli.command("canon")
@click.argument("query", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@workspace_option
@json_option
def canon_cmd(query: str | None, limit: int, as_json: bool) -> int:
    """Search canon (every word of QUERY must occur) and show each record's provenance."""
    from cockpit.engine.canon import candidates as canon
    from cockpit.engine.text import literal

    with opened(read_only=True) as (_ws, store):
        rows = canon.search(store, query, limit)
    if as_json:
        emit_json(rows)
        return 0
    if not rows:
        say("No canon record matches." if query else "Canon is empty.")
        return 0
    for row in rows:
        say(
            literal(
                f"{row['id']}  (commissioned by {row['commissioned_by']} at "
                f"{row['commissioned_at']})"
            )
        )
        for line in row["record"].splitlines() or [""]:
            say(literal(f"    {line}"))
        say(literal("    provenance: " + provenance_line(row["provenance"])))
        say()
    return 0


def provenance_line(p: dict[str, Any] | None) -> str:
    """candidate → WP → claim → evidence → verify → commissioning human, on one line."""
    if not p:
        return "-"
    candidate = p.get("candidate") or {}
    wp = p.get("work_package") or {}
    claim = p.get("claim") or {}
    verify = p.get("verify") or {}
    evidence = ", ".join(e.get("id", "?") for e in p.get("evidence") or []) or "-"
    wp_text = f"{wp.get('id')} ({wp.get('state')}{', overridden' if wp.get('overridden') else ''})"
    verify_text = f"verify {verify.get('outcome')} @{verify.get('seq')}" if verify else "no verify"
    return (
        f"candidate {candidate.get('id')} by {candidate.get('author')} → {wp_text} → "
        f"claim {claim.get('id') or '-'} → evidence {evidence} → {verify_text} → "
        f"commissioned by {p.get('commissioned_by')}"
    )
