"""`cockpit worktrees`: the workspace's worktrees, approving the setup script, pruning
(SPEC 11.4)."""

from __future__ import annotations

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


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"


@cli.group("worktrees", invoke_without_command=True)
@workspace_option
@json_option
@click.pass_context
def worktrees_group(ctx: click.Context, as_json: bool) -> int:
    """List the worktrees: each one's WP, state, branch, size, age and whether it holds
    uncommitted changes; orphans (no WP in the store) included."""
    if ctx.invoked_subcommand is not None:
        return 0
    from cockpit.engine.repo import housekeeping

    with opened(read_only=True) as (ws, store):
        rows = [
            housekeeping.measure(ws, store, item).row(ws)
            for item in housekeeping.discover(ws, store)
        ]
    if as_json:
        emit_json(rows)
        return 0
    if not rows:
        say("No worktrees.")
        return 0
    say(
        table(
            [
                (
                    r["work_package"],
                    r["state"] or "orphan",
                    r["branch"],
                    _size(r["size_bytes"]),
                    _age(r["age_s"]),
                    "yes" if r["dirty"] else "no",
                    r["path"],
                )
                for r in rows
            ],
            ("wp", "state", "branch", "size", "age", "uncommitted", "path"),
        )
    )
    return 0


@worktrees_group.command("approve-setup")
@click.argument("repo", required=False)
@click.option(
    "--ref",
    metavar="REF",
    help="Approve the script as this commit holds it (default: the repo's HEAD).",
)
@as_option
@workspace_option
@json_option
def approve_setup_cmd(
    repo: str | None, ref: str | None, as_principal: str | None, as_json: bool
) -> int:
    """Approve the setup script's content for a target repo (default: the only one in
    use): a signed action recording setup_approved with its sha256."""
    from cockpit.engine.actions import worktrees as actions
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.trust.actions import person_signer

    with opened() as (ws, store):
        principal = resolve_principal(ws, as_principal)
        sign = person_signer(ws, principal, signing_key())
        approval = actions.approve_setup(ws, store, principal, repo, ref, sign=sign)
    if as_json:
        emit_json(approval.to_json())
        return 0
    script = approval.script
    where = f"{script.path} at {script.commit[:12]} of {approval.target_repo}"
    if approval.event is None:
        say(f"{where} (sha256 {script.sha256}) is approved already; nothing recorded.")
    else:
        say(
            f"approved {where}: sha256 {script.sha256} "
            f"(setup_approved by {approval.event.principal}, seq {approval.event.seq})"
        )
    return 0


def _listed(items: list[dict[str, Any]], reason: bool = False) -> str:
    rows = [
        (
            i["work_package"],
            i["state"] or "orphan",
            i["branch"],
            i["path"],
            *((i.get("reason"),) if reason else ()),
        )
        for i in items
    ]
    return table(rows, ("wp", "state", "branch", "path", *(("kept because",) if reason else ())))


@worktrees_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--force", is_flag=True, help="Remove worktrees with uncommitted changes too.")
@as_option
@workspace_option
@json_option
def prune_cmd(dry_run: bool, force: bool, as_principal: str | None, as_json: bool) -> int:
    """Remove the worktrees and branches of finished work packages (cancelled, rolled
    back or delivered) and orphans; one with uncommitted changes only with --force."""
    from cockpit.engine.actions import worktrees as actions
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.trust.actions import person_signer

    with opened(read_only=dry_run) as (ws, store):
        principal = resolve_principal(ws, as_principal)
        sign = None if dry_run else person_signer(ws, principal, signing_key())
        pruned = actions.prune(ws, store, principal, force=force, dry_run=dry_run, sign=sign)
    if as_json:
        emit_json(pruned.to_json())
        return 0
    verb = "would remove" if dry_run else "removed"
    if pruned.removed:
        say(f"{verb} {len(pruned.removed)}:")
        say(_listed(pruned.removed))
    else:
        say(f"Nothing to prune{' (dry run)' if dry_run else ''}.")
    if pruned.skipped:
        say(f"kept {len(pruned.skipped)}:")
        say(_listed(pruned.skipped, reason=True))
    return 0
