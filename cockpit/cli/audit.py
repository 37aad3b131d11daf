"""Commands for the reviewer: the audit chain, checkpoints, replay, lineage, metrics."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cockpit.cli.base import (
    cli,
    emit_json,
    json_option,
    opened,
    say,
    table,
    workspace_option,
)

# -- audit ---------------------------------------------------------------------------------


@cli.group()
@workspace_option
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("log")
@click.argument("wp", required=False)
@workspace_option
@json_option
def audit_log(wp: str | None, as_json: bool) -> int:
    """Print the events (of one work package)."""
    with opened(read_only=True) as (_ws, store):
        if wp is not None and store.work_package(wp) is None and not store.events(wp):
            from cockpit.errors import NotFound

            raise NotFound(f"no events for work package {wp}")
        events = store.events(wp)
        if as_json:
            emit_json([e.to_json() for e in events])
        else:
            say(
                table(
                    [
                        (e.seq, e.ts, e.type, e.work_package, e.principal, e.entry_id)
                        for e in events
                    ],
                    ("seq", "ts", "type", "wp", "principal", "entry"),
                )
            )
    return 0


@audit.command("verify")
@click.option(
    "--key",
    "runner_key",
    type=click.Path(path_type=Path),
    help="Trust only this runner public key (OpenSSH .pub) for the runner's signatures.",
)
@click.option(
    "--against",
    type=click.Path(path_type=Path),
    help="Also hold the chain against this signed checkpoint note (a published one).",
)
@workspace_option
@json_option
def audit_verify(runner_key: Path | None, against: Path | None, as_json: bool) -> int:
    """Recompute the chain; exit 1 naming the first bad seq if it is broken."""
    from cockpit.engine.reports import audit as audit_ops

    with opened(read_only=True) as (ws, store), _walk_progress() as progress:
        report = audit_ops.verify(ws, store, progress, key=runner_key, against=against)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        sigs = report.signatures
        signed = (
            f" signed checkpoints through seq {report.signed_through};"
            if report.signed_through is not None
            else " no signed checkpoint verified;"
        )
        say(
            f"Chain intact: verified through seq {report.events} ({report.events} events);"
            f"{signed} signatures: {sigs.checked} checked, {sigs.unsigned} unsigned, "
            f"{sigs.bad} bad."
        )
    elif report.first_bad_seq is None:
        say(f"Verification failed: {report.reason}.")
    else:
        say(f"Chain broken at seq {report.first_bad_seq}: {report.reason}.")
    return 0 if report.ok else 1


@contextmanager
def _walk_progress() -> Iterator[Callable[[int, int], None] | None]:
    """How far the chain walk is, on one line of stderr rewritten in place, cleared at the
    end; only when stderr is a terminal (a pipe or a log gets no progress lines)."""
    if not sys.stderr.isatty():
        yield None
        return
    shown = 0.0

    def show(done: int, total: int) -> None:
        nonlocal shown
        now = time.monotonic()
        if now - shown >= 0.1 or done >= total:  # at most ten lines a second
            shown = now
            click.echo(f"\rverifying the chain: {done:,} of {total:,} events", err=True, nl=False)

    try:
        yield show
    finally:
        if shown:
            click.echo("\r\x1b[K", err=True, nl=False)


@audit.command("checkpoint")
@click.option(
    "--publish",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also copy the signed note and runner.pub to DIR (a place agents cannot write).",
)
@workspace_option
@json_option
def audit_checkpoint(publish: Path | None, as_json: bool) -> int:
    """Write a checkpoint: chain size, head and RFC 6962 Merkle root, signed by the runner
    key as a C2SP signed note when one is configured."""
    from cockpit.engine.reports import audit as audit_ops

    with opened() as (ws, store):
        document = audit_ops.checkpoint(ws, store, publish=publish)
    if as_json:
        emit_json(document)
        return 0
    say(
        f"Checkpoint {document['file']}: {document['size']} events, head {document['head']}, "
        f"Merkle root {document['merkle_root']}."
    )
    if "note" in document:
        say(f"Signed note {document['note']} (origin {document['origin']}).")
    else:
        say("Not signed: runner.key names no usable key.")
    for path in document.get("published", []):
        say(f"Published {path}.")
    return 0


@cli.command()
@workspace_option
@json_option
def replay(as_json: bool) -> int:
    """Rebuild every projection from the events and compare it with the live one."""
    from cockpit.engine.reports import audit as audit_ops

    with opened(read_only=True) as (ws, store):
        document = audit_ops.replay(ws, store)
    if as_json:
        emit_json(document)
    elif document["first_bad_seq"] is not None:
        say(f"Replay refuses seq {document['first_bad_seq']}: {document['reason']}.")
    elif document["match"]:
        say(
            f"Replay of {document['events']} events matches the live projections "
            f"(digest {document['live_digest'][:16]}…)."
        )
    else:
        say(
            f"Replay of {document['events']} events DIFFERS from the live projections: live "
            f"{document['live_digest'][:16]}…, replay {document['replay_digest'][:16]}…."
        )
    return 0 if document["ok"] else 1


@cli.command()
@click.argument("wp")
@workspace_option
@json_option
def lineage(wp: str, as_json: bool) -> int:
    """Show the packet lineage of a work package."""
    from cockpit.engine.reports.lineage import lineage as build
    from cockpit.engine.text import literal

    with opened(read_only=True) as (_ws, store):
        document = build(store, wp)
    if as_json:
        emit_json(document)
        return 0
    outgoing: dict[str, list[str]] = {}
    for edge in document["edges"]:
        outgoing.setdefault(edge["from"], []).append(f"{edge['rel']} → {edge['to']}")
    for node in document["nodes"]:
        extra = f" {node['outcome']}" if node.get("outcome") else ""
        move = node.get("transition")
        moved = (
            f"  [{move['from']} → {move['to']}]"
            if move and move["from"]
            else (f"  [→ {move['to']}]" if move else "")
        )
        say(f"{node['seq']:>5}  {literal(node['id'])}  ({node['kind']}{extra}){moved}")
        for line in outgoing.get(node["id"], []):
            say(f"         {literal(line)}")
    return 0


@cli.command()
@workspace_option
@json_option
def metrics(as_json: bool) -> int:
    """Denominator-aware accounting of the gate and the advisory verifier."""
    from cockpit.engine.reports.metrics import metrics as compute

    with opened(read_only=True) as (_ws, store):
        document = compute(store)
    if as_json:
        emit_json(document)
        return 0
    say(_metrics_table(document))
    return 0


def _metrics_table(document: dict[str, Any]) -> str:
    from cockpit.engine.reports.metrics import cell_text

    rows: list[tuple[str, str]] = []
    for key, value in document.items():
        if key == "advisory":
            rows += [(f"advisory.{k}", cell_text(v)) for k, v in value.items()]
        elif key == "usage":
            rows += _usage_rows(value)
        else:
            rows.append((key, cell_text(value)))
    return table(rows, ("metric", "value"), width=100)


def _usage_rows(usage: dict[str, Any]) -> list[tuple[str, str]]:
    """Tokens and cost (SPEC 9.1): totals, shares with their denominators, per lane."""
    from decimal import Decimal

    from cockpit.engine.reports.metrics import cell_text

    def tally(t: dict[str, Any]) -> str:
        cost = f"${t['cost_usd']}" if t["runs_with_cost"] else "cost not reported"
        runs = f"{t['runs']} run{'' if t['runs'] == 1 else 's'}"
        return (
            f"{runs}, {t['input_tokens']} in / {t['output_tokens']} out tokens, "
            f"{cost} ({t['runs_with_cost']}/{t['runs']} reported a cost)"
        )

    rows = [("usage.total", tally(usage["total"]))]
    for key in ("cost_per_accepted_wp", "tokens_per_accepted_wp", "cost_on_withheld"):
        rows.append((f"usage.{key}", cell_text(usage[key], per=key.endswith("_per_accepted_wp"))))
    rows += [(f"usage.lane.{lane}", tally(t)) for lane, t in usage["by_lane"].items()]
    costliest = sorted(
        usage["by_work_package"].items(), key=lambda item: -Decimal(item[1]["cost_usd"])
    )
    rows += [(f"usage.wp.{wp}", tally(t)) for wp, t in costliest[:WPS_SHOWN]]
    if len(costliest) > WPS_SHOWN:
        rows.append(("usage.wp.…", f"{len(costliest) - WPS_SHOWN} more (--json has them all)"))
    return rows


WPS_SHOWN = 10  # work packages listed by cost in the text form
