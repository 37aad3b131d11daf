"""`cockpit diff WP [--stat] [--json]`: the change under review (SPEC 11.1), as a unified
diff in git's conventions, a `--stat` like git's, or SPEC 11.1's JSON document."""

from __future__ import annotations

import click

from cockpit.cli.base import cli, emit_json, json_option, opened, workspace_option
from cockpit.errors import NotFound


@cli.command("diff")
@click.argument("wp")
@click.option("--stat", "as_stat", is_flag=True, help="Per file, its changed lines, like git's.")
@workspace_option
@json_option
def diff_cmd(wp: str, as_stat: bool, as_json: bool) -> int:
    """Show a work package's change: base against its worktree, or, once complete, against
    the head its acceptance verified. Control and bidirectional characters are shown as
    escapes; binary files are named with their size and sha256."""
    from cockpit.engine.gate.change import change_of
    from cockpit.engine.repo.diff_text import stat, unified

    with opened(read_only=True) as (ws, store):
        row = store.work_package(wp)
        if row is None:
            raise NotFound(f"no work package {wp} has been booked in this workspace")
        change = change_of(ws, store, row)
    if as_json:
        emit_json(change.to_json())
        return 0
    lines = stat(change.diff) if as_stat else unified(change.diff)
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 1024:
            click.echo("\n".join(batch))
            batch.clear()
    if batch:
        click.echo("\n".join(batch))
    return 0
