"""Audit operations on a workspace: verify the chain (and its checkpoints and the notes
that sign them), write a checkpoint (signed by the runner key as a C2SP signed note, and
published), replay the projections."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.lifecycle.recheck import Rechecker
from cockpit.engine.trust import checkpoints as signed_checkpoints
from cockpit.engine.trust import keys as trust_keys
from cockpit.engine.trust import note
from cockpit.engine.trust.verify import SignatureReport, verify_signatures
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError, InputError
from cockpit.store import ChainReport, Store
from cockpit.store.checkpoint import (
    checkpoints,
    hold_root,
    notes,
    verify_against,
)
from cockpit.store.db import EVENTS_BATCH
from cockpit.store.replay import replay as replay_projections
from cockpit.store.replay import work_package_states


@dataclass(frozen=True)
class AuditReport:
    """`audit verify`: the chain, held against the checkpoints and signed notes, and its
    signatures. `signed_through` is the size of the latest signed checkpoint that verified
    and that the log matches (None if none did). A signed checkpoint that fails makes the
    chain not ok without a seq when the note itself is at fault (its signature, its
    origin)."""

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
        if not self.chain.ok and self.chain.first_bad_seq is None and self.signatures.reason:
            # A signed checkpoint failed (no seq to name) and so did an event's signature.
            return f"{self.chain.reason}; and {self.signatures.reason}"
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
    against: Path | None = None,
) -> AuditReport:
    """Recompute the chain, hold it against every checkpoint in .cockpit/checkpoints and
    every signed note there (and against the note `against`), and check every event's
    signature (SPEC 10.4). With `key`, only that runner key is trusted. Raises InputError
    if `key` is not a public key or `against` cannot be read."""
    chain = verify_against(store, store.verify_chain(progress), ws.checkpoints_dir)
    pinned = trust_keys.public_key_file(key) if key is not None else None
    configured = _configured_runner_key(ws)
    checker = _NoteChecker(ws, store, pinned, configured, chain.events)
    for path in notes(ws.checkpoints_dir):
        try:
            data = _read_note(path, follow=False)
        except InputError as exc:  # a symlink or a FIFO where a note should be: not ok
            if chain.ok:
                chain = ChainReport(False, chain.events, None, str(exc))
            continue
        chain = checker.hold(chain, path, data, required=False)
    if against is not None:
        chain = checker.hold(chain, against, _read_note(against, follow=True), required=True)
    runner = pinned if pinned is not None else configured
    upto = None if chain.first_bad_seq is None else chain.first_bad_seq - 1
    signatures = verify_signatures(ws, store, runner, pinned=key is not None, upto=upto)
    return AuditReport(chain, signatures, checker.signed_through)


origin = signed_checkpoints.origin  # where it lives: the trust plane


class _NoteChecker:
    """Holds the chain against signed checkpoint notes, each verified with the runner key
    in force at its size: `--key` if given (then only that key), else the key the chain's
    latest `config_applied` at or before that size records, else the configured runner
    key's public half. `signed_through` is the largest size of a note that verified and
    that the log matches."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        pinned: PublicKey | None,
        configured: PublicKey | None,
        events: int,
    ) -> None:
        self.ws, self.store, self.pinned, self.configured = ws, store, pinned, configured
        self.origin = origin(ws)
        self.events = events
        self.documents = [c for c in checkpoints(ws.checkpoints_dir) if "problem" not in c]
        self.recorded = [
            (e.seq, str(e.payload.get("runner_key") or ""))
            for e in store.find_events(types=(EventType.CONFIG_APPLIED,), limit=10**9)
        ]
        self.signed_through: int | None = None

    def key_at(self, size: int) -> PublicKey | None:
        if self.pinned is not None:
            return self.pinned
        lines = [line for seq, line in self.recorded if seq <= size and line]
        if lines:
            try:
                return parse_public_key(lines[-1])
            except KeyFormatError:
                return None
        return self.configured

    def hold(self, chain: ChainReport, path: Path, data: bytes, *, required: bool) -> ChainReport:
        """`chain` held against the note `data` (read from `path`). A note no key can check
        here is skipped, unless it is `required` (`--against`)."""
        name = f"signed checkpoint {path.name}"
        fresh = ChainReport(True, self.events, None, None)
        try:
            parsed = note.parse(data)
            # The unsigned size only chooses the key; nothing else is read before it verifies.
            size = note.parse_checkpoint(parsed.text[:-1].split("\n")).size
            public = self.key_at(size)
            if public is None:
                if required:
                    raise note.NoteError("there is no runner key to check it with (give --key)")
                return chain
            if all(s.name != self.origin for s in parsed.signatures):
                signers = ", ".join(s.name for s in parsed.signatures)
                raise note.NoteError(
                    f"it is signed as {signers}, not as this workspace ({self.origin})"
                )
            trusted = note.verifier(self.origin, public)
            body = note.parse_checkpoint(note.verify(data, trusted))
        except note.NoteError as exc:
            failed = ChainReport(False, self.events, None, f"{name}: {exc}")
            return chain if not chain.ok else failed
        if body.origin != self.origin:
            reason = f"{name} is for {body.origin}, not this workspace ({self.origin})"
            return chain if not chain.ok else ChainReport(False, self.events, None, reason)
        documents = list(self.documents)
        companion = _companion(path)
        if companion is not None:
            documents.insert(0, companion)
        held = hold_root(self.store, fresh, body.size, body.root.hex(), name, documents)
        if held.ok:
            self.signed_through = max(self.signed_through or 0, body.size)
            return chain
        return chain if not chain.ok else held


def _companion(path: Path) -> dict[str, Any] | None:
    """The checkpoint JSON beside a note (it may keep the signed leaves), if readable."""
    found = [
        c
        for c in checkpoints(path.parent)
        if c["file"] == path.with_suffix(".json").name and "problem" not in c
    ]
    return found[0] if found else None


def _read_note(path: Path, *, follow: bool) -> bytes:
    """A note file's bytes (a regular file, at most one byte past the limit, no FIFO
    waited on; no symlink followed unless `follow`). Raises InputError if it cannot be
    read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"the note {path} cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"the note {path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(note.MAX_NOTE_BYTES + 1)
    finally:
        os.close(fd)


def _configured_runner_key(ws: Workspace) -> PublicKey | None:
    """The runner's public key as the config names it, if it can be read here."""
    if ws.config.runner.key is None:
        return None
    try:
        return trust_keys.public_key_file(trust_keys.runner_key_path(ws))
    except CockpitError:
        return None


def checkpoint(ws: Workspace, store: Store, *, publish: Path | None = None) -> dict[str, Any]:
    """Write a checkpoint of the chain as it stands (size, head, RFC 6962 Merkle root).

    With a runner key configured and readable, the store signs the `checkpoint_created`
    event with it (as the runner does: `record.attach`, which under `signatures: required`
    first records the config in force if it changed, so the key that signs is in the
    chain), and the checkpoint is also written as a C2SP signed note. Under `required` a
    checkpoint without a usable runner key is a ConfigError naming runner.key. `publish`
    copies the note and the runner's public key (`runner.pub`) to that directory; it is
    refused (InputError) without a runner key, inside the workspace, or where a different
    file of the same name is already published."""
    held = _runner_key(ws, store, needed=publish is not None)
    public_line = b""
    if held is not None:
        public_line = (signed_checkpoints.public_line(ws, held) + "\n").encode()
    if publish is not None:
        _check_publish_dir(ws, publish, public_line)
    document = signed_checkpoints.write(ws, store, held)
    if held is not None and publish is not None:
        signed = Path(document["note"])
        document["published"] = [
            _publish(publish / signed.name, signed.read_bytes()),
            _publish(publish / "runner.pub", public_line),
        ]
    return document


def _runner_key(ws: Workspace, store: Store, *, needed: bool) -> trust_keys.HeldKey | None:
    """The runner key, attached to the store (its events signed); None when there is none
    and it is not needed (not `required`, no `--publish`)."""
    try:
        return signed_checkpoints.signing_key(ws, store, needed=needed)
    except InputError:
        raise InputError(
            "--publish needs a signed checkpoint, and runner.key names no key "
            "(`cockpit keys init` makes one)"
        ) from None


def _check_publish_dir(ws: Workspace, directory: Path, public_line: bytes) -> None:
    """Refuse, before anything is written, a directory inside the workspace or one that
    already publishes another runner key."""
    if directory.resolve().is_relative_to(ws.root.resolve()):
        raise InputError(
            f"--publish {directory} lies inside the workspace, where agents may write; "
            "choose a directory only you can write"
        )
    published = directory / "runner.pub"
    if published.exists() or published.is_symlink():
        try:
            theirs = parse_public_key(published.read_text()).blob
        except (OSError, UnicodeDecodeError, KeyFormatError):
            theirs = b""
        if theirs != parse_public_key(public_line.decode()).blob:
            raise InputError(
                f"{published} holds another key; publish this workspace's checkpoints "
                "elsewhere, or move it away if the runner key was replaced"
            )


def _publish(target: Path, data: bytes) -> str:
    """Copy `data` to `target` (created, never replacing a different file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        try:
            same = not target.is_symlink() and target.read_bytes() == data
        except OSError:
            same = False
        if not same and target.name != "runner.pub":  # runner.pub: the same key was checked
            raise InputError(f"{target} already exists and differs; move it away first")
        return str(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return str(target)


def replay(ws: Workspace, store: Store, *, batch: int = EVENTS_BATCH) -> dict[str, Any]:
    """Rebuild the projections from the events and compare digests with the live ones, and
    re-check every state change and entry-caused event against the rules (SPEC 10.5):
    `{match, live_digest, replay_digest, events, ok, first_bad_seq, reason}`; `ok` is
    false when the digests differ or a row could not have been produced by the rules.

    The log is read once, as a stream (`batch` events at a time): each event is
    re-checked, then applied. Memory stays about one batch whatever the size of the log."""
    with work_package_states() as states:
        checker = Rechecker(ws.config, states)
        document = replay_projections(store, checker.see, batch=batch)
    checked = checker.result
    first, reason = checked.first_bad_seq, checked.reason
    failed = document.pop("failed_seq", None)
    failure = document.pop("failure", None)
    if failed is not None and (first is None or failed < first):
        first, reason = failed, f"event {failed} cannot be replayed ({failure})"
    document.update(
        ok=bool(document["match"]) and first is None, first_bad_seq=first, reason=reason
    )
    return document
