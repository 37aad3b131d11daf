"""`cockpit report WP`: the reviewer's report on one work package, as Markdown or one
self-contained HTML file, built from the record alone."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cockpit.cli.base import cli, emit_json, json_option, opened, say, workspace_option


@cli.command()
@click.argument("wp")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="Markdown (renders on GitHub, Mermaid lineage included) or one self-contained HTML file.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to FILE instead of printing it.",
)
@workspace_option
@json_option
def report(wp: str, fmt: str, output: Path | None, as_json: bool) -> int:
    """The reviewer-complete report on a work package: status, evidence register, what was
    and was not validated, non-claims, risks, the next gate, the agents' usage and cost, and
    the lineage; every statement points to the event or entry that supports it. With
    --json, its sections as data (and --output still writes the rendering)."""
    from cockpit.engine.reports.report import report as build
    from cockpit.engine.runner.handoff import next_gate

    with opened(read_only=True) as (_ws, store):
        document = build(store, wp, next_gate=next_gate)
    if as_json and output is None:
        emit_json(document)
        return 0
    if fmt == "html":
        from cockpit.engine.reports.report_html import to_html

        text = to_html(document)
    else:
        from cockpit.engine.reports.report_md import to_markdown

        text = to_markdown(document)
    if output is None:
        click.echo(text, nl=False)
        return 0
    _write(output, text)
    if as_json:
        emit_json(document)
    else:
        say(f"Wrote the report on {wp} to {output} ({len(text.encode('utf-8'))} bytes).")
    return 0


def _write(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a temporary file renamed over it)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
