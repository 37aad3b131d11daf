"""`cockpit keys`: the runner's key and the keys people sign with (SPEC 10.1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from cockpit.cli.base import cli, emit_json, json_option, load_workspace, say, workspace_option


@cli.group()
@workspace_option
def keys() -> None:
    """The runner key and principals' signing keys."""


def _principal_keys(ws: Any) -> dict[str, list[str]]:
    return {name: [k.fingerprint for k in ws.config.keys_of(name)] for name in ws.config.principals}


@keys.command("init")
@click.option(
    "--runner-key",
    type=click.Path(path_type=Path),
    help="Where to keep the runner key (default: runner.key, else "
    "~/.config/cockpit/runner_ed25519).",
)
@click.option(
    "--public-key",
    type=click.Path(path_type=Path),
    help="A person's existing OpenSSH public key to print the config line for "
    "(default: ~/.ssh/id_ed25519.pub when there is one).",
)
@click.option("--for", "principal", metavar="PRINCIPAL", help="The principal that key is for.")
@workspace_option
@json_option
def keys_init(
    runner_key: Path | None, public_key: Path | None, principal: str | None, as_json: bool
) -> int:
    """Create the runner key outside the workspace, and print the cockpit.yaml lines that
    name it and a person's existing SSH key."""
    from cockpit.engine.trust import keys as trust_keys
    from cockpit.errors import InputError

    ws = load_workspace()
    path = runner_key or trust_keys.runner_key_path(ws)
    path = Path(os.path.expanduser(path)).absolute()
    if path.resolve().is_relative_to(ws.root.resolve()):
        raise InputError(f"{path} lies inside the workspace; the runner key must live outside it")
    public, created = trust_keys.init_runner_key(path)
    principal = principal or ws.config.operator
    if principal not in ws.config.principals:
        raise InputError(f"{principal!r} is not a principal of this workspace")
    person = None
    candidate = public_key or Path(os.path.expanduser("~/.ssh/id_ed25519.pub"))
    if public_key is not None or candidate.exists():
        person = trust_keys.public_key_file(candidate)
    if as_json:
        emit_json(
            {
                "runner_key": {"path": str(path), "fingerprint": public.fingerprint},
                "created": created,
                "principals": {principal: [person.fingerprint]} if person else {},
            }
        )
        return 0
    say(f"Runner key {path} ({'created' if created else 'already there'}): {public.fingerprint}")
    say("Add to cockpit.yaml:")
    say("  runner:")
    say(f"    key: {path}")
    if person is not None:
        say(f"  principals:  # {principal}, beside its roles")
        say(f'    {principal}: {{keys: ["{person.line()}"]}}')
    else:
        say(f"  (no public key given for {principal}: pass --public-key FILE.pub)")
    return 0


@keys.command("list")
@workspace_option
@json_option
def keys_list(as_json: bool) -> int:
    """The runner key and each principal's key fingerprints."""
    from cockpit.engine.trust import keys as trust_keys

    ws = load_workspace()
    runner: dict[str, Any] | None = None
    if ws.config.runner.key is not None:
        path = trust_keys.runner_key_path(ws)
        try:
            fingerprint: str | None = trust_keys.public_key_file(path).fingerprint
        except Exception:  # listed even when unreadable: the list says so
            fingerprint = None
        runner = {"path": str(path), "fingerprint": fingerprint}
    principals = _principal_keys(ws)
    if as_json:
        emit_json({"runner_key": runner, "principals": principals})
        return 0
    if runner is None:
        say("runner key: none configured (runner.key)")
    else:
        shown = runner["fingerprint"] or "cannot be read"
        say(f"runner key: {runner['path']} {shown}")
    for name, prints in principals.items():
        say(f"{name}: {', '.join(prints) if prints else 'no keys'}")
    return 0
