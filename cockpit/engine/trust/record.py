"""The runner's part of a record outsiders can check (SPEC 10.1, 10.4): every event the
runner itself causes is signed with its key (namespace `cockpit-runner`, over the canonical
JSON of the event less its signature), and under `signatures: required` the keys in force
are written into the chain (`config_applied`) whenever the config changes, so a verifier
needs nothing but the record to know who could sign what, when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.config.model import CONFIG_FILE
from cockpit.engine.trust import keys, sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import ConfigError
from cockpit.store import NewEvent, Store

RUNNER = "cockpit:runner"


def runner_signer(held: keys.HeldKey) -> Callable[[bytes], dict[str, Any]]:
    """The store's signer for the runner's own events: it signs the event's canonical
    bytes, less its signature."""

    def sign(event: bytes) -> dict[str, Any]:
        armored = held.sign(event, sshsig.RUNNER)
        return {"signer": held.public.fingerprint, "namespace": sshsig.RUNNER, "sig": armored}

    return sign


def config_digest(ws: Workspace) -> str:
    return hashlib.sha256((ws.root / CONFIG_FILE).read_bytes()).hexdigest()


def runner_key_usable(ws: Workspace) -> keys.HeldKey | None:
    """The runner key, checked: raises ConfigError when the config names one that cannot
    be used, or names none under `signatures: required`; None when none is needed."""
    held = keys.runner_key(ws)
    if held is None and ws.config.signatures_required:
        raise ConfigError(
            "runner.key: required when policy.signatures is required (the runner signs "
            "its own events); `cockpit keys init` makes one"
        )
    return held


def attach(ws: Workspace, store: Store) -> keys.HeldKey | None:
    """Make `store` sign the runner's events with the runner key, and record the config in
    force if it changed. Under `signatures: required` a runner without a usable key is a
    ConfigError (it would write a record nobody can check). Returns the key (None when
    none is configured under `optional`)."""
    held = runner_key_usable(ws)
    attach_held(ws, store, held, record_config=True)
    return held


def attach_held(
    ws: Workspace, store: Store, held: keys.HeldKey | None, *, record_config: bool
) -> None:
    """`attach` with a key already loaded (a long-lived ingester loads it once); the
    config is recorded only when `record_config` (once per start is enough)."""
    if held is None:
        return
    store.signer = runner_signer(held)
    store.signer_public = held.public.line()
    if record_config and ws.config.signatures_required:
        apply_config(ws, store, held)


def apply_config(ws: Workspace, store: Store, held: keys.HeldKey) -> None:
    """Append `config_applied` when the config's hash differs from the last recorded."""
    digest = config_digest(ws)
    last = store.find_events(types=(EventType.CONFIG_APPLIED,), limit=1_000_000)
    if last and last[-1].payload.get("sha256") == digest:
        return
    payload: dict[str, Any] = {
        "sha256": digest,
        "workspace": ws.config.workspace,
        "tenant": ws.config.tenant,
        "signatures": ws.config.policy.signatures,
        "principals_keys": {
            name: [k.line() for k in ws.config.keys_of(name)] for name in ws.config.principals
        },
        "runner_key": held.public.line(),
    }
    with store.transaction():
        store.append(NewEvent(EventType.CONFIG_APPLIED, None, RUNNER, None, payload))
