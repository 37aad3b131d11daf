"""The human actions: each verb is one engine call as the acting principal."""

from __future__ import annotations

import re
from collections.abc import Callable
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
from cockpit.domain import EventType, Verdict

# -- actions ---------------------------------------------------------------------------------


def _act(as_json: bool, run: Callable[[Any, Any, str, Any], list[Any]]) -> int:
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.trust.actions import person_signer

    params = click.get_current_context().params
    with opened() as (ws, store):
        principal = resolve_principal(ws, params.get("as_principal"))
        sign = person_signer(ws, principal, signing_key())
        events = run(ws, store, principal, sign)
    if as_json:
        emit_json(events[0].to_json())
    else:
        for event in events:
            move = event.payload.get("transition")
            moved = f": {move['from']} → {move['to']}" if move else ""
            say(f"{event.type} {event.work_package} by {event.principal} (seq {event.seq}){moved}")
    return 0


@cli.command("dispatch")
@click.argument("wp")
@click.option("--to", "to", required=True, metavar="PRINCIPAL", help="The agent to dispatch to.")
@as_option
@workspace_option
@json_option
def dispatch_cmd(wp: str, to: str, as_principal: str | None, as_json: bool) -> int:
    """Dispatch a booked (or rolled-back) work package to an agent."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.dispatch(
            ws,
            store,
            wp,
            to,
            by,
            sign=sign,
        ),
    )


@cli.command("verify")
@click.argument("wp")
@as_option
@workspace_option
@json_option
def verify_cmd(wp: str, as_principal: str | None, as_json: bool) -> int:
    """Run the verify gate now on a claimed work package."""
    from cockpit.engine.actions import human as actions
    from cockpit.engine.trust.actions import person_signer

    with opened() as (ws, store):
        principal = actions.resolve_principal(ws, as_principal)
        sign = person_signer(ws, principal, signing_key())
        run = actions.verify(ws, store, wp, principal, sign=sign)
    document = run.to_json()
    if as_json:
        emit_json(document)
    else:
        say(f"{wp}: {document['outcome']} ({document['acceptance_status']}, mode {run.mode.value})")
        say(
            table(
                [(name, r["status"], r["detail"]) for name, r in document["predicates"].items()],
                ("predicate", "status", "detail"),
                width=90,
            )
        )
    return 0 if document["acceptance_status"] == "accepted" else 1


@cli.command("recover")
@click.argument("wp")
@click.option("--owner", required=True, metavar="PRINCIPAL", help="Who owns the recovery.")
@click.option(
    "--next-action", "next_action", required=True, metavar="TEXT", help="What happens next."
)
@click.option("--error-class", metavar="TEXT", help="What kind of failure this was.")
@as_option
@workspace_option
@json_option
def recover_cmd(
    wp: str,
    owner: str,
    next_action: str,
    error_class: str | None,
    as_principal: str | None,
    as_json: bool,
) -> int:
    """File a recovery packet for a blocked or failed work package."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.recover(
            ws, store, wp, owner, next_action, by, error_class, sign=sign
        ),
    )


@cli.command("review")
@click.argument("wp")
@click.option(
    "--verdict",
    required=True,
    type=click.Choice([v.value for v in Verdict]),
)
@click.option(
    "--finding", "findings", multiple=True, metavar="TEXT", help="A finding (repeatable)."
)
@click.option("--merge-sha", metavar="SHA", help="With accepted: the merge commit.")
@click.option(
    "--comment",
    "comments",
    multiple=True,
    metavar="PATH:LINE:TEXT",
    help="A comment on a line of the change (repeatable); PATH:-LINE:TEXT for a removed "
    "line (the old side).",
)
@click.option(
    "--head",
    metavar="SHA",
    help="The verified head reviewed (default: the one the latest verify measured).",
)
@as_option
@workspace_option
@json_option
def review_cmd(
    wp: str,
    verdict: str,
    findings: tuple[str, ...],
    merge_sha: str | None,
    comments: tuple[str, ...],
    head: str | None,
    as_principal: str | None,
    as_json: bool,
) -> int:
    """Record a review verdict, with comments on lines of the change. The review is about
    the head the latest verify measured (`cockpit diff WP` shows it)."""
    from cockpit.engine.actions import human as actions
    from cockpit.engine.gate.review_comments import latest_head

    notes = [_comment(text) for text in comments]
    return _act(
        as_json,
        lambda ws, store, by, sign: actions.review(
            ws,
            store,
            wp,
            verdict,
            list(findings),
            by,
            merge_sha,
            sign=sign,
            head=head or latest_head(store, wp),
            comments=notes,
        ),
    )


_COMMENT = re.compile(r"(?P<path>.+?):(?P<old>-?)(?P<line>[0-9]+):(?P<text>.*)", re.DOTALL)


def _comment(given: str) -> dict[str, Any]:
    """`PATH:LINE:TEXT` (`PATH:-LINE:TEXT`: a line of the old side). The path ends at the
    first `:LINE:`, so the text may hold colons (a path holding `:<digits>:` cannot be
    named). Raises click's BadParameter (exit 2)."""
    found = _COMMENT.fullmatch(given)
    if found is None or not found["text"].strip():
        raise click.BadParameter(
            f"{given!r} is not PATH:LINE:TEXT (or PATH:-LINE:TEXT for the old side)",
            param_hint="'--comment'",
        )
    side = "old" if found["old"] else "new"
    return {"path": found["path"], "line": int(found["line"]), "side": side, "text": found["text"]}


@cli.command("override")
@click.argument("wp")
@click.option("--to", "to", required=True, metavar="STATE", help="The state to move to.")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def override_cmd(
    wp: str, to: str, reason: str | None, as_principal: str | None, as_json: bool
) -> int:
    """Override the lifecycle (owner only; the WP stays marked overridden)."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.override(
            ws,
            store,
            wp,
            to,
            reason,
            by,
            sign=sign,
        ),
    )


@cli.command("cancel")
@click.argument("wp")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def cancel_cmd(wp: str, reason: str | None, as_principal: str | None, as_json: bool) -> int:
    """Cancel a work package that is not finished."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.cancel(
            ws,
            store,
            wp,
            reason,
            by,
            sign=sign,
        ),
    )


@cli.command("rollback")
@click.argument("wp")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def rollback_cmd(wp: str, reason: str | None, as_principal: str | None, as_json: bool) -> int:
    """Roll a failed work package back to its base commit (the failed work is kept)."""
    from cockpit.engine.actions import human as actions
    from cockpit.engine.text import literal

    result: list[Any] = []

    def run(ws: Any, store: Any, by: str, sign: Any) -> list[Any]:
        result[:] = actions.rollback(ws, store, wp, reason, by, sign=sign)
        return result

    code = _act(as_json, run)
    [event] = result
    if event.type == EventType.ROLLBACK_FAILED:
        import sys

        print(
            literal(f"cockpit: the rollback of {wp} failed: {event.payload['error']}."),
            file=sys.stderr,
        )
        return 1
    if not as_json and event.payload.get("failed_ref"):
        say(f"The failed work is kept on branch {event.payload['failed_ref']}.")
    return code


@cli.command("veto")
@click.argument("wp")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@click.option("--lift", is_flag=True, help="Lift the veto instead of raising it.")
@as_option
@workspace_option
@json_option
def veto_cmd(
    wp: str, reason: str | None, lift: bool, as_principal: str | None, as_json: bool
) -> int:
    """Raise (or lift) a veto: the gate admits nothing while it stands."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.veto(
            ws,
            store,
            wp,
            reason,
            by,
            lift=lift,
            sign=sign,
        ),
    )


@cli.command("dismiss")
@click.argument("wp")
@click.argument("advisory", metavar="ADVISORY|FLAG")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def dismiss_cmd(
    wp: str, advisory: str, reason: str | None, as_principal: str | None, as_json: bool
) -> int:
    """Dismiss an advisory of the advisory verifier, or a flag of the progress monitor
    (such as `stall@41`), with a reason."""
    from cockpit.engine.actions import human as actions

    return _act(
        as_json,
        lambda ws, store, by, sign: actions.dismiss(ws, store, wp, advisory, reason, by, sign=sign),
    )
