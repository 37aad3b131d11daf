"""Commands that start you off: `init` (a workspace, empty or with the walkthrough) and
`demo` (the walkthrough's copy, ingested and opened). Each says what to do next."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.base import cli, open_tui, say
from cockpit.errors import InputError


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Add the synthetic walkthrough (queued entries).")
@click.option("--tenant", help="Tenant name for a new, empty workspace (default: default).")
def init(directory: Path, demo: bool, tenant: str | None) -> int:
    """Create a workspace in DIRECTORY, and print what to do next."""
    from cockpit.engine.trust.demo import sign_demo
    from cockpit.engine.workspace.scaffold import init_workspace

    if demo and tenant:
        raise InputError("--tenant applies to an empty workspace; the demo's tenant is 'demo'")
    ws = init_workspace(directory, demo=demo, tenant=tenant)
    if demo:
        say(f"Created workspace {ws.root} with the demo walkthrough (tenant demo).")
        keys = sign_demo(ws.root)
        say(f"The demo runs signed; its keys (never commit them) are in {keys}")
        where = f"--workspace {ws.root}"
        _next_steps(
            [
                (f"cockpit run --once {where}", "ingest the walkthrough"),
                (f"cockpit status {where}", "the board"),
                (f"cockpit {where}", "the TUI"),
            ]
        )
        return 0
    say(f"Created workspace {ws.root} (tenant {ws.config.tenant}).")
    lane = next(iter(ws.config.lanes), "implementation")
    agent = next((name for name, p in ws.config.principals.items() if lane in p.lanes), "AGENT")
    _next_steps(
        [
            (f"export COCKPIT_WORKSPACE={ws.root}", f"or pass --workspace {ws.root} each time"),
            ("cockpit new work_package WP-1", "a booking to fill in (its REQUIRED fields)"),
            ("cockpit submit WP-1.yaml", "validate it and queue it"),
            ("cockpit run --once", "ingest the queue (`cockpit run` keeps running)"),
            (f"cockpit dispatch WP-1 --to {agent}", "hand it to an agent"),
            ("cockpit", "the TUI: the board, lineage, audit and your decisions"),
        ]
    )
    say(
        f"Agents: each lane in {ws.root / 'cockpit.yaml'} says how its agent starts; "
        f"the {lane} lane starts none until you give it a driver or a command."
    )
    return 0


def _next_steps(steps: list[tuple[str, str]]) -> None:
    width = max(len(command) for command, _ in steps)
    say("Next:")
    for command, why in steps:
        say(f"  {command.ljust(width)}  # {why}")


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--fresh", is_flag=True, help="Start the demo over from the bundled walkthrough.")
def demo(directory: Path | None, fresh: bool) -> int:
    """Open the bundled demo workspace (a copy kept outside the checkout).

    The copy lives in DIRECTORY (default: $XDG_STATE_HOME/cockpit/demo, else
    ~/.local/state/cockpit/demo) so running the demo never changes the source tree; a
    command run in a checkout (where ./workspace is the demo's template) works on that same
    copy. Ingests what waits in its queue, then opens the TUI (without a terminal, prints
    the board).
    """
    from cockpit.cli.demo_copy import demo_copy
    from cockpit.engine.runner.loop import run_once

    ws, made = demo_copy(directory, fresh=fresh)
    say(f"Demo workspace: {ws.root}{' (made now)' if made else ''}")
    say(f"From the command line: cockpit --workspace {ws.root} status")
    with ws.open_store() as store:
        summary = run_once(ws, store)
        counts = summary.sweep.counts()
        if any(counts.values()):
            say(
                f"Ingested {counts['ingested']} entries, rejected {counts['rejected']} "
                f"({counts['events']} events)."
            )
    if open_tui(ws, None, readonly=False):
        say(f"Demo workspace: {ws.root} (`cockpit demo` opens it again; --fresh starts over).")
    return 0
