"""Audit operations on a workspace: verify the chain (and its checkpoints), write a
checkpoint, replay the projections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.engine.config.ssh_keys import PublicKey
from cockpit.engine.lifecycle.recheck import recheck
from cockpit.engine.trust import keys as trust_keys
from cockpit.engine.trust.verify import SignatureReport, verify_signatures
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError
from cockpit.store import ChainReport, Store
from cockpit.store.checkpoint import verify_against, write_checkpoint
from cockpit.store.replay import replay as replay_projections


@dataclass(frozen=True)
class AuditReport:
    """`audit verify`: the chain, held against the checkpoints, and its signatures."""

    chain: ChainReport
    signatures: SignatureReport
    signed_through: int | None = None

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [s for s in (self.chain.first_bad_seq, self.signatures.first_bad_seq) if s]
        return min(seqs) if seqs else None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None and self.chain.ok

    @property
    def events(self) -> int:
        return self.chain.events

    @property
    def reason(self) -> str | None:
        if self.chain.first_bad_seq is not None and self.chain.first_bad_seq == self.first_bad_seq:
            return self.chain.reason
        return self.signatures.reason if self.signatures.first_bad_seq else self.chain.reason

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "signatures": self.signatures.to_json(),
            "signed_through": self.signed_through,
        }


def verify(
    ws: Workspace,
    store: Store,
    progress: Callable[[int, int], None] | None = None,
    *,
    key: Path | None = None,
) -> AuditReport:
    """Recompute the chain, hold it against every checkpoint in .cockpit/checkpoints, and
    check every event's signature (SPEC 10.4). With `key`, only that runner key is trusted.
    Raises InputError if `key` is not a public key."""
    chain = verify_against(store, store.verify_chain(progress), ws.checkpoints_dir)
    runner = trust_keys.public_key_file(key) if key is not None else _configured_runner_key(ws)
    upto = None if chain.first_bad_seq is None else chain.first_bad_seq - 1
    signatures = verify_signatures(ws, store, runner, pinned=key is not None, upto=upto)
    return AuditReport(chain, signatures)


def _configured_runner_key(ws: Workspace) -> PublicKey | None:
    """The runner's public key as the config names it, if it can be read here."""
    if ws.config.runner.key is None:
        return None
    try:
        return trust_keys.public_key_file(trust_keys.runner_key_path(ws))
    except CockpitError:
        return None


def checkpoint(ws: Workspace, store: Store) -> dict[str, Any]:
    """Write a checkpoint of the chain as it stands (size, head, RFC 6962 Merkle root)."""
    return write_checkpoint(store, ws.checkpoints_dir)


def replay(ws: Workspace, store: Store) -> dict[str, Any]:
    """Rebuild the projections from the events and compare digests with the live ones, and
    re-check every state change and entry-caused event against the rules (SPEC 10.5):
    `{match, live_digest, replay_digest, events, ok, first_bad_seq, reason}`; `ok` is
    false when the digests differ or a row could not have been produced by the rules."""
    document = replay_projections(store)
    checked = recheck(store.events(), ws.config)
    first, reason = checked.first_bad_seq, checked.reason
    failed = document.pop("failed_seq", None)
    failure = document.pop("failure", None)
    if failed is not None and (first is None or failed < first):
        first, reason = failed, f"event {failed} cannot be replayed ({failure})"
    document.update(
        ok=bool(document["match"]) and first is None, first_bad_seq=first, reason=reason
    )
    return document
