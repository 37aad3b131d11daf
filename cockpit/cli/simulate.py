"""`cockpit simulate`: what the gate catches and what it costs, measured against an
ungated baseline, on a scratch workspace with this workspace's policy."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.base import cli, emit_json, json_option, load_workspace, say, workspace_option


@cli.command()
@click.option("--tasks", "-n", type=int, default=200, show_default=True, help="WPs to book.")
@click.option("--agents", "-k", type=int, default=4, show_default=True, help="Simulated agents.")
@click.option(
    "--faults",
    default="default",
    show_default=True,
    metavar="SPEC",
    help="`default`, `none`, or KIND=RATE,... (e.g. `default,forged_principal=0.1`).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The draw's seed.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the report as Markdown to FILE.",
)
@workspace_option
@json_option
def simulate(
    tasks: int, agents: int, faults: str, seed: int, report_file: Path | None, as_json: bool
) -> int:
    """Book TASKS work packages across tiers in a scratch workspace with this workspace's
    policy, and drive AGENTS simulated agents through the real queue, runner and gate, each
    claim drawing a fault from SPEC (premature claim, weak evidence, stale common ground,
    out-of-scope edit, failing validation, open questions, a non-assignee's claim, a
    replayed entry, a forged principal). The same stream is judged twice against the
    simulator's ground truth: gated (the product) and ungated (every claim admitted on
    arrival). One seed gives one report. The last report is kept for the TUI; nothing is
    written to this workspace's record."""
    from cockpit.engine.simulate import markdown, save_report
    from cockpit.engine.simulate import simulate as run
    from cockpit.errors import InputError

    ws = load_workspace()
    if report_file is not None and not report_file.parent.is_dir():
        raise InputError(f"--report: {report_file.parent} is not a directory")

    def progress(number: int, settled: int) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\rround {number}: {settled}/{tasks} settled", err=True, nl=False)

    document = run(ws, tasks, agents, faults, seed, progress=progress)
    if not as_json and sys.stderr.isatty():
        click.echo("", err=True)
    text = markdown(document)
    if report_file is not None:
        try:
            report_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"--report: {report_file} cannot be written ({exc.strerror})"
            ) from None
    save_report(ws, document)
    if as_json:
        emit_json(document)
    else:
        click.echo(text, nl=False)
        if report_file is not None:
            say(f"Wrote the report to {report_file}.")
    return 0
