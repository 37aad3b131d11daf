"""Commands that help write entries: `schema` (the JSON Schema of an entry kind or of
cockpit.yaml, for editors and scripts) and `new` (a filled-in template of an entry, to
complete and `cockpit submit`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from cockpit.cli.base import (
    cli,
    emit_json,
    json_option,
    load_workspace,
    say,
    warn,
    workspace_option,
)
from cockpit.domain import Kind
from cockpit.errors import InputError, NotFound

KINDS = ", ".join(k.value for k in Kind)


def _kind(value: str, *, config: bool = False) -> Kind | None:
    """The Kind named `value` (None for `config` when it is allowed); InputError naming
    the valid names otherwise."""
    if config and value == "config":
        return None
    if value in Kind.__members__.values():
        return Kind(value)
    valid = f"{KINDS} or config" if config else KINDS
    raise InputError(f"unknown kind {value!r}; the kinds are {valid}")


@cli.command(
    help=f"""Print the JSON Schema (draft 2020-12) of an entry of KIND, of cockpit.yaml
    (KIND `config`), or, without KIND, of any entry (one of the kinds, chosen by its `kind`).

    KIND is one of: {KINDS}. The schema is the whole document: the common fields and the
    kind's body, with a description of each field; unknown keys are refused, as the queue
    refuses them. Give it to your editor (for example a `# yaml-language-server: $schema=FILE`
    line) to complete keys and flag typos as you type.
    """
)
@click.argument("kind", required=False, metavar="[KIND|config]")
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to FILE instead of stdout.",
)
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    hidden=True,
    expose_value=False,
    help="Taken and ignored: a schema is the same in every workspace.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Taken as every read command takes it: the schema is one JSON document already.",
)
def schema(kind: str | None, output: Path | None, as_json: bool) -> int:
    from cockpit.engine.entries.schema import entry_schema

    if kind is not None and _kind(kind, config=True) is None:
        from cockpit.engine.config.schema import config_schema

        document = config_schema()
    else:
        document = entry_schema(Kind(kind) if kind else None)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return 0
    output.write_text(text, encoding="utf-8")
    say(f"Wrote the JSON Schema ({document['title']}) to {output}.")
    return 0


@cli.command(
    help=f"""Write a template of a KIND entry on work package WP, to fill in and submit.

    KIND is one of: {KINDS}. The template has a fresh, unique id, `work_package`, the
    `refs` the kind builds on (a scope_confirmation refs the dispatch, a claim its evidence,
    and so on), the principal (--as, else $COCKPIT_PRINCIPAL, else the operator), `created`
    now, and every body field under a comment saying what it takes. What Cockpit knows is
    filled in (a claim's common-ground pin and evidence, a WP's owner); fields marked
    REQUIRED are left empty, so an unfilled template is refused by `cockpit submit`.

    For KIND work_package, WP is the id of the new work package; for every other kind, a
    booked one. Inside an agent's sandbox ($COCKPIT_OUTBOX set) the template is made from
    the agent's handoff ($COCKPIT_HANDOFF). With --json, prints {{id, kind, work_package,
    principal, file}}.
    """
)
@click.argument("kind", metavar="KIND")
@click.argument("wp", metavar="WP")
@click.option(
    "--as",
    "as_principal",
    metavar="PRINCIPAL",
    help="Write it as this principal (default: $COCKPIT_PRINCIPAL, else operator in cockpit.yaml).",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    help="Write it to FILE (default: ID.yaml in the current directory; - for stdout).",
)
@workspace_option
@json_option
def new(kind: str, wp: str, as_principal: str | None, output: str | None, as_json: bool) -> int:

    chosen = _kind(kind)
    assert chosen is not None
    if as_json and output == "-":
        raise InputError("--json prints a JSON document on stdout, so it cannot go with --output -")
    here = Path.cwd()

    def free(entry_id: str) -> bool:
        return output is not None or not (here / f"{entry_id}.yaml").exists()

    named = None if output is None else "FILE" if output == "-" else Path(output).name
    if os.environ.get("COCKPIT_OUTBOX"):
        principal, draft, warning = _draft_in_sandbox(chosen, wp, as_principal, free, named)
    else:
        principal, draft, warning = _draft_in_workspace(chosen, wp, as_principal, free, named)
    if warning is not None:
        warn(warning)
    if output == "-":
        click.echo(draft.text, nl=False)
        return 0
    target = Path(output) if output else here / f"{draft.id}.yaml"
    try:
        with open(target, "x", encoding="utf-8") as stream:
            stream.write(draft.text)
    except FileExistsError:
        raise InputError(f"{target} exists already; choose another with --output FILE") from None
    shown = output or target.name
    if as_json:
        document: dict[str, Any] = {
            "id": draft.id,
            "kind": chosen.value,
            "work_package": wp,
            "principal": principal,
            "file": str(target.resolve()),
        }
        emit_json(document)
    else:
        what = f"the booking of {wp}" if chosen is Kind.WORK_PACKAGE else f"{draft.id} on {wp}"
        say(
            f"Wrote {shown}: {what}, a {chosen.value} entry by {principal}. Fill in what it "
            f"marks REQUIRED, then run `{draft.submit} {shown}`."
        )
    return 0


def _draft_in_workspace(
    kind: Kind, wp: str, as_principal: str | None, free: Any, file: str | None
) -> tuple[str, Any, str | None]:
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.queue import maildir
    from cockpit.engine.workspace.drafts import draft_entry, facts_from_store, queued_ids

    ws = load_workspace()
    principal = resolve_principal(ws, as_principal)
    with ws.read_store() as store:
        facts = facts_from_store(ws.config, store, wp)
        queued = queued_ids([ws.queue_dir(n) for n in ("tmp", "new", "cur")])
        rejected: set[str] | None = None

        def taken(entry_id: str) -> bool:
            nonlocal rejected
            if entry_id in queued or not free(entry_id) or store.entry(entry_id) is not None:
                return True
            if rejected is None:
                rejected = {str(r["entry_id"]) for r in store.rejections() if r["entry_id"]}
            return entry_id in rejected

        try:
            draft = draft_entry(kind, wp, principal, facts, taken, file=file)
            return principal, draft, state_warning(kind, wp, facts.wp)
        except NotFound as exc:
            waiting = len(maildir.pending(ws.queue_dir("new")))
            if not waiting:
                raise
            raise NotFound(
                f"{exc}; {waiting} entries wait in queue/new: `cockpit run --once` ingests them"
            ) from None


def _draft_in_sandbox(
    kind: Kind, wp: str, as_principal: str | None, free: Any, file: str | None
) -> tuple[str, Any, str | None]:
    """Inside an agent's sandbox (SPEC 10.3) neither the store nor the config can be read:
    the agent's handoff says what the draft needs."""
    from cockpit.engine.workspace.drafts import draft_entry, facts_from_handoff, queued_ids

    principal = as_principal or os.environ.get("COCKPIT_PRINCIPAL")
    handoff = os.environ.get("COCKPIT_HANDOFF")
    if not principal or not handoff:
        raise InputError(
            "inside an agent's sandbox `cockpit new` needs $COCKPIT_PRINCIPAL and "
            "$COCKPIT_HANDOFF (the runner sets both)"
        )
    facts = facts_from_handoff(Path(handoff), wp)
    outbox = Path(os.environ["COCKPIT_OUTBOX"])
    queued = queued_ids([outbox / "tmp", outbox / "new"])
    draft = draft_entry(kind, wp, principal, facts, lambda i: i in queued or not free(i), file=file)
    return principal, draft, state_warning(kind, wp, facts.wp)


def state_warning(kind: Any, wp_id: str, wp: dict[str, Any] | None) -> str | None:
    """What the runner would say of this kind of entry on the WP as it is now, if the
    lifecycle does not allow it from the WP's state (the draft is written all the same:
    the WP may move before it is submitted)."""
    from cockpit.engine.lifecycle.transitions import kind_refused

    state = (wp or {}).get("state")
    refused = kind_refused(kind, state)
    if refused is None:
        return None
    return f"{wp_id} is {state} now, so the runner would refuse this entry ({refused})"
