"""Delivery and its provenance (SPEC 11.3): `cockpit deliver WP [--via merge|push|pr]`, the
owner's signed action, and `cockpit attest verify FILE`, the offline check of what it
attested."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from cockpit.cli.base import (
    as_option,
    cli,
    emit_json,
    json_option,
    load_workspace,
    opened,
    say,
    signing_key,
    workspace_option,
)


@cli.command("deliver")
@click.argument("wp")
@click.option(
    "--via",
    type=click.Choice(["merge", "push", "pr"]),
    help="How: merge into the base branch, push `wp/<WP>`, or push and open a pull request "
    "(default: delivery.via in cockpit.yaml).",
)
@click.option("--plan", "show_plan", is_flag=True, help="Say what it would do; do nothing.")
@as_option
@workspace_option
@json_option
def deliver_cmd(
    wp: str, via: str | None, show_plan: bool, as_principal: str | None, as_json: bool
) -> int:
    """Deliver a complete work package's verified head (a signed action)."""
    from cockpit.engine import delivery
    from cockpit.engine.actions.human import resolve_principal
    from cockpit.engine.trust.actions import person_signer

    if show_plan:
        with opened(read_only=True) as (ws, store):
            planned = delivery.plan(ws, store, wp, via)
        if as_json:
            emit_json(planned.to_json())
        else:
            _say_plan(planned.to_json())
        return 0
    with opened() as (ws, store):
        principal = resolve_principal(ws, as_principal)
        sign = person_signer(ws, principal, signing_key())
        with _signals_stop() as stop:
            done = delivery.deliver(ws, store, wp, principal, via, sign, stop)
    if as_json:
        emit_json(done.to_json())
        return 0
    _say_delivered(done.event.work_package, done.event.seq, done.event.payload)
    return 0


@contextlib.contextmanager
def _signals_stop() -> Iterator[threading.Event]:
    """While the delivery runs, SIGTERM and SIGINT set the event it watches: it refuses
    (recorded) at its next step before anything changes, killing a validation command and
    removing its scratch worktree, as an interrupt does. A second signal interrupts at
    once (KeyboardInterrupt, whose cleanup runs too)."""
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        del frame
        if stop.is_set():
            raise KeyboardInterrupt(signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    saved = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def _say_plan(plan: dict[str, Any]) -> None:
    from cockpit.engine.text import literal

    where = f"{plan['base']} (at {(plan['base_sha'] or '-')[:12]})"
    if plan["via"] == "merge":
        repo = literal(plan["target_repo"])
        say(f"{plan['work_package']} would be merged into {literal(where)} of {repo}.")
        commands = plan["validation"]
        say(f"Validation re-run on the merged tree: {_commands(len(commands))}.")
        for command in commands:
            say(f"  {literal(command)}")
    else:
        what = "pushed, with a pull request into " if plan["via"] == "pr" else "pushed for "
        say(
            f"{plan['work_package']}'s verified head would be {what}{literal(where)}: "
            f"{literal(plan['remote'])} {literal(plan['remote_ref'])}."
        )
    say(f"Commits ({len(plan['commits']) + plan['more_commits']}):")
    for commit in plan["commits"]:
        say(f"  {commit['sha'][:12]}  {literal(commit['subject'])}")


def _commands(n: int, kind: str = "") -> str:
    return f"{n} {kind}command" + ("" if n == 1 else "s")


def _say_delivered(wp: str | None, seq: int, payload: dict[str, Any]) -> None:
    from cockpit.engine.text import literal

    via, base = payload["via"], payload["base"]
    if via == "merge":
        commands = payload.get("validation") or []
        checked = (
            f"after re-running {_commands(len(commands), 'validation ')}"
            if payload.get("validated")
            else "with no validation command to re-run"
        )
        say(
            f"Delivered {wp} by merge: {literal(base)} moved from "
            f"{str(payload['base_sha'])[:12]} to {payload['merge_sha'][:12]} {checked} "
            f"(seq {seq})."
        )
    else:
        say(
            f"Delivered {wp} by {via}: {payload['head'][:12]} is {literal(payload['remote'])} "
            f"{literal(payload['remote_ref'])} (seq {seq})."
        )
        if payload.get("url"):
            say(f"Pull request: {literal(payload['url'])}")
    checkpoint = payload.get("checkpoint") or {}
    signed = "signed " if checkpoint.get("note") else ""
    say(
        f"The record through seq {checkpoint.get('size')} is in {signed}checkpoint "
        f"{checkpoint.get('file')}."
    )
    if payload.get("attestation"):
        say(f"Provenance: {payload['attestation']} (`cockpit attest verify` checks it).")
    elif payload.get("attestation_error"):
        say(f"No provenance attestation: {payload['attestation_error']}.")
    else:
        say("No provenance attestation: runner.key names no key to sign it with.")


@cli.group()
@workspace_option
def attest() -> None:
    """Provenance attestations of deliveries."""


@attest.command("verify")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--commit",
    metavar="SHA",
    help="Also check that it is about this commit (its full id: 40 or 64 hex digits).",
)
@click.option(
    "--key",
    "runner_key",
    type=click.Path(path_type=Path),
    help="The runner's public key (OpenSSH .pub) to check it with (default: runner.key's).",
)
@workspace_option
@json_option
def attest_verify(file: Path, commit: str | None, runner_key: Path | None, as_json: bool) -> int:
    """Check an attestation offline: its DSSE signature by the runner key, its in-toto
    statement, and (with --commit) the commit it is about; exit 1 if it does not hold."""
    from cockpit.engine.text import literal
    from cockpit.engine.trust import attestation
    from cockpit.engine.trust import keys as trust_keys
    from cockpit.errors import InputError

    if runner_key is not None:
        public = trust_keys.public_key_file(runner_key)
    else:
        ws = load_workspace()
        if ws.config.runner.key is None:
            raise InputError("runner.key names no key: give the runner's public key with --key")
        public = trust_keys.public_key_file(trust_keys.runner_key_path(ws))
    check = attestation.verify(attestation.read_envelope(file), public, commit)
    if as_json:
        emit_json(check.to_json())
        return 0 if check.ok else 1
    # Everything but the runner key's fingerprint comes from the file: shown literally.
    shown = literal(str(file))
    if check.ok:
        say(
            f"Attestation {shown} holds: {literal(check.work_package)} delivered commit "
            f"{literal(check.subject)} by {literal(check.via)}, signed by the runner key "
            f"{literal(check.keyid)}."
        )
    else:
        say(f"Attestation {shown} does not hold: {literal(check.reason)}.")
    return 0 if check.ok else 1
