"""`cockpit book`: book a work package from a procedure pack (`procedures/NAME.yaml`) or
from options alone, filed into the queue as `cockpit submit --sign` files an entry."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.base import (
    as_option,
    cli,
    emit_json,
    json_option,
    load_workspace,
    say,
    signing_key,
    warn,
    workspace_option,
)
from cockpit.domain import Tier


@cli.command(
    help="""Book a work package: write its work_package entry and queue it, as `cockpit
    submit --sign` would (checked first; signed with your key where entries are signed).

    With --procedure NAME the WP is booked from the procedure pack procedures/NAME.yaml:
    its tier, lane, scope (owned and forbidden surfaces, objective, success criteria),
    validation commands and rollback plan, with {id}, {title}, {target_repo} and {lane} in
    its templates filled in. The pack's lane sequence (what each lane's agent is told) and
    required packets go into the entry, so the agent's handoff carries them. An option
    given overrides the pack; --criterion and --label add to its lists.

    Without --procedure, give --objective, --lane and --tier. The WP's owner is the one
    agent that serves its lane (else --owner); accountable is you (else --accountable).
    The id is the next free WP-n unless --id names one. `cockpit run` ingests the entry;
    --to P queues its dispatch to P right after it. With --json, prints {submitted,
    work_package, procedure}.
    """,
    short_help="Book a work package, from a procedure pack or from options.",
)
@click.option("--procedure", "-p", metavar="NAME", help="Book from procedures/NAME.yaml.")
@click.option("--title", "-t", required=True, metavar="TEXT", help="The WP's title.")
@click.option(
    "--target-repo",
    metavar="PATH",
    help="The git repository the work changes (relative to the workspace, or absolute).",
)
@click.option("--objective", metavar="TEXT", help="What the work must achieve.")
@click.option("--criterion", multiple=True, metavar="TEXT", help="Add a success criterion.")
@click.option("--id", "wp_id", metavar="WP", help="The WP's id (default: the next free WP-n).")
@click.option("--lane", metavar="LANE", help="The lane whose agent carries the work.")
@click.option("--tier", type=click.Choice([t.value for t in Tier]), help="The tier.")
@click.option("--owner", metavar="PRINCIPAL", help="Who does the work (an agent).")
@click.option("--accountable", metavar="PRINCIPAL", help="Who answers for it (default: you).")
@click.option(
    "--base-ref", metavar="REF", help="The commit, branch or tag its worktree starts from."
)
@click.option(
    "--rollback-plan", metavar="TEXT", help="How the change would be undone (deep tier: required)."
)
@click.option("--label", multiple=True, metavar="TEXT", help="Add a label (e.g. canary).")
@click.option(
    "--to", "dispatch_to", metavar="PRINCIPAL", help="Also queue its dispatch to PRINCIPAL."
)
@as_option
@workspace_option
@json_option
def book(
    procedure: str | None,
    title: str,
    target_repo: str | None,
    objective: str | None,
    criterion: tuple[str, ...],
    wp_id: str | None,
    lane: str | None,
    tier: str | None,
    owner: str | None,
    accountable: str | None,
    base_ref: str | None,
    rollback_plan: str | None,
    label: tuple[str, ...],
    dispatch_to: str | None,
    as_principal: str | None,
    as_json: bool,
) -> int:
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.procedures.booking import Booking
    from cockpit.engine.procedures.booking import book as book_work_package

    ws = load_workspace()
    principal = resolve_principal(ws, as_principal)
    booking = Booking(
        title=title,
        procedure=procedure,
        objective=objective,
        target_repo=target_repo,
        wp_id=wp_id,
        lane=lane,
        tier=tier,
        owner=owner,
        accountable=accountable,
        base_ref=base_ref,
        rollback_plan=rollback_plan,
        criteria=criterion,
        labels=label,
        dispatch_to=dispatch_to,
    )
    key: Path | None = signing_key()
    with ws.read_store() as store:
        booked = book_work_package(ws, store, booking, principal, key=key)
    if as_json:
        emit_json(booked.to_json())
    elif booked.submitted:
        source = f" from {booked.pack.file}" if booked.pack else ""
        say(f"Booked {booked.work_package}{source}: queued {', '.join(booked.submitted)}.")
        where = f" --workspace {ws.root}"
        if dispatch_to:
            say(f"Next: `cockpit run --once{where}` ingests both and starts its agent.")
        else:
            say(
                f"Next: `cockpit run --once{where}` ingests it; then `cockpit dispatch "
                f"{booked.work_package} --to AGENT{where}`."
            )
    for error in booked.errors:
        message = error.message.rstrip(".")
        warn(f"{error.file} was refused ({error.code}: {message}), so nothing was queued.")
    return 2 if booked.errors else 0
