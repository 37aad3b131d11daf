"""`cockpit doctor`: whether the workspace is fit to run, one line per check."""

from __future__ import annotations

import click

from cockpit.cli.base import cli, emit_json, json_option, say, workspace_option


@cli.command()
@workspace_option
@json_option
def doctor(as_json: bool) -> int:
    """Check the config, git, the sandbox, each lane's agent CLI, the keys, the store (chain,
    replay, checkpoint, counts), the runner lock, the queue and the disk; exit 1 if any
    check fails. Nothing is changed."""
    from cockpit.engine.doctor.checks import run
    from cockpit.engine.doctor.report import tally
    from cockpit.engine.text import literal
    from cockpit.engine.workspace.layout import is_template, resolve_workspace

    root = resolve_workspace(click.get_current_context().meta.get("cockpit.workspace"))
    if is_template(root):  # the checkout's demo: its copy is what runs (see load_workspace)
        from cockpit.cli.base import load_workspace

        root = load_workspace().root
    found = run(root)
    failing, warning = tally(found)
    if as_json:
        emit_json({"ok": not failing, "checks": [check.to_json() for check in found]})
    else:
        width = max(len(literal(check.name)) for check in found)
        for check in found:
            line = f"{check.status:<4}  {literal(check.name):<{width}}  {literal(check.detail)}"
            say(line + (f" ({literal(check.fix)})" if check.fix and check.status != "ok" else ""))
        say(f"{len(found)} checks: {failing} failed, {warning} warned.")
    return 1 if failing else 0
