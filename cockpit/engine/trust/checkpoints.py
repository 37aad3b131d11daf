"""Writing a checkpoint of the record signed by the runner key (SPEC 10.4): the store writes
the checkpoint and appends `checkpoint_created`; the runner key signs the event (as it
signs every event the runner causes) and the checkpoint as a C2SP signed note. `cockpit
audit checkpoint` and a delivery (SPEC 11.3, which writes one before delivering) share it.
"""

from __future__ import annotations

from typing import Any

from cockpit.engine.config.ssh_keys import PublicKey
from cockpit.engine.trust import keys, note, record
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import ConfigError, InputError
from cockpit.store import Store
from cockpit.store.checkpoint import write_checkpoint


def origin(ws: Workspace) -> str:
    """The origin line and note key name of this workspace's checkpoints."""
    return note.origin(ws.config.tenant, ws.config.workspace)


def signing_key(ws: Workspace, store: Store, *, needed: bool) -> keys.HeldKey | None:
    """The runner key, attached to the store (its events signed; under `signatures:
    required` the config in force is recorded first, so the key that signs is in the
    chain); None when there is none and it is not `needed` nor required. Raises
    ConfigError naming runner.key, or InputError when `needed` and none is configured."""
    try:
        held = record.attach(ws, store)
    except ConfigError as exc:
        message = str(exc) if str(exc).startswith("runner.key") else f"runner.key: {exc}"
        if ws.config.signatures_required or needed:
            raise ConfigError(message) from None
        return None
    if held is None and needed:
        raise InputError(
            "a signed checkpoint is needed, and runner.key names no key "
            "(`cockpit keys init` makes one)"
        )
    return held


def public_line(ws: Workspace, held: keys.HeldKey) -> str:
    """The runner's public key as it is published beside the notes (`runner.pub`)."""
    return PublicKey(held.public.type, held.public.blob, f"cockpit-runner {origin(ws)}").line()


def write(ws: Workspace, store: Store, held: keys.HeldKey | None) -> dict[str, Any]:
    """Write a checkpoint of the chain as it stands in `.cockpit/checkpoints/` (size, head,
    RFC 6962 Merkle root) and append `checkpoint_created`; signed by `held` as a C2SP
    note (`note`, with `origin` and `vkey`) when given. Returns the checkpoint document."""
    where = origin(ws)
    sign = None
    if held is not None:
        signing_key_ = held

        def sign(document: dict[str, Any]) -> bytes:
            body = note.Checkpoint(where, document["size"], bytes.fromhex(document["merkle_root"]))
            return note.sign(body.text(), where, signing_key_).encode("utf-8")

    document = write_checkpoint(store, ws.checkpoints_dir, sign)
    if held is not None:
        document["origin"] = where
        document["vkey"] = note.verifier(where, held.public).vkey
    return document
