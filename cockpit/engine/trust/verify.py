"""Checking the record's signatures offline (SPEC 10.4), from the record alone.

Walking the chain in order, a signature counts for an event only if its key belonged to the
event's principal at that point as the chain itself records it (`config_applied` for
people and the runner, `agent_key_issued`/`agent_key_revoked` for agent runs), it signs this
very event (the entry whose sha256 the event names, the action document that matches the
event, or, for the runner, the event itself), and it is not used again by another cause.

Once the chain records `signatures: required` (a `config_applied`), every later event must
carry such a signature: a row appended straight into the database by anyone without a key
makes the record not ok, with that row as `first_bad_seq`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, Store, canonical_json
from cockpit.store.audit import event_object


@dataclass
class SignatureReport:
    """`signatures: {checked, unsigned, bad}` and the first event that fails the policy."""

    checked: int = 0
    unsigned: int = 0
    bad: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, int]:
        return {"checked": self.checked, "unsigned": self.unsigned, "bad": self.bad}

    def fail(self, seq: int, reason: str) -> None:
        if self.first_bad_seq is None:
            self.first_bad_seq, self.reason = seq, reason


@dataclass
class _Keys:
    """Who may sign what, as the chain has recorded it so far."""

    people: dict[str, set[bytes]] = field(default_factory=dict)
    runner: set[bytes] = field(default_factory=set)
    agents: dict[bytes, tuple[str, str, frozenset[str]]] = field(default_factory=dict)
    required: bool = False


def _blobs(lines: list[str]) -> set[bytes]:
    out = set()
    for line in lines:
        try:
            out.add(parse_public_key(line).blob)
        except KeyFormatError:
            continue
    return out


def initial_keys(ws: Workspace, runner_key: PublicKey | None) -> _Keys:
    """Before the first `config_applied`: the keys of the config as it is now."""
    keys = _Keys(
        people={name: {k.blob for k in ws.config.keys_of(name)} for name in ws.config.principals}
    )
    if runner_key is not None:
        keys.runner = {runner_key.blob}
    return keys


def verify_signatures(
    ws: Workspace,
    store: Store,
    runner_key: PublicKey | None = None,
    *,
    pinned: bool = False,
    upto: int | None = None,
) -> SignatureReport:
    """Check every event's signature (those up to seq `upto` when given: past a broken
    link of the chain there is nothing a signature could vouch for). `runner_key` is the
    runner's public key; with `pinned` (`audit verify --key`) it is the only runner key
    trusted, whatever the chain's `config_applied` events say."""
    report = SignatureReport()
    keys = initial_keys(ws, runner_key)
    last_cause: tuple[str, str] | None = None
    used: set[str] = set()
    for event in _events(store, upto):
        signature = event.payload.get("signature")
        problem: str | None = None
        if not isinstance(signature, dict) or signature.get("unsigned") or not signature:
            report.unsigned += 1
            if keys.required:
                report.fail(event.seq, f"event {event.seq} ({event.type}) is not signed")
        else:
            report.checked += 1
            try:
                cause = _check(ws, store, event, signature, keys)
            except _Bad as exc:
                problem = str(exc)
            else:
                sig = str(signature.get("sig"))
                if sig in used and cause != last_cause:
                    problem = "its signature was already used by another event's cause"
                used.add(sig)
                last_cause = cause
            if problem is not None:
                report.bad += 1
                report.fail(event.seq, f"event {event.seq} ({event.type}): {problem}")
        if problem is None and event.type == EventType.CONFIG_APPLIED:
            _apply_config(keys, event, pinned)
        elif event.type == EventType.AGENT_KEY_ISSUED and problem is None:
            payload = event.payload
            blobs = _blobs([str(payload.get("public_key", ""))])
            for blob in blobs:
                keys.agents[blob] = (
                    str(payload.get("principal")),
                    str(payload.get("work_package")),
                    frozenset(payload.get("kinds") or []),
                )
        elif event.type == EventType.AGENT_KEY_REVOKED and problem is None:
            for blob in _blobs([str(event.payload.get("public_key", ""))]):
                keys.agents.pop(blob, None)
    return report


def _events(store: Store, upto: int | None) -> Iterator[Event]:
    rows = store.conn.execute(
        "SELECT * FROM events WHERE seq <= ? ORDER BY seq",
        (upto if upto is not None else 2**62,),
    )
    for row in rows:
        yield Event.from_row(dict(row))


class _Bad(Exception):
    pass


def _apply_config(keys: _Keys, event: Event, pinned: bool) -> None:
    payload = event.payload
    people = payload.get("principals_keys") or {}
    keys.people = {str(name): _blobs(list(lines)) for name, lines in people.items()}
    if not pinned and payload.get("runner_key"):
        keys.runner = _blobs([str(payload["runner_key"])])
    keys.required = payload.get("signatures") == "required"


def _check(
    ws: Workspace, store: Store, event: Event, signature: dict[str, Any], keys: _Keys
) -> tuple[str, str]:
    """Raise _Bad unless `signature` signs this event as its principal; returns the
    event's cause (what one signature may cover)."""
    try:
        parsed = sshsig.parse(str(signature.get("sig", "")))
    except sshsig.SignatureError as exc:
        raise _Bad(str(exc)) from None
    namespace = signature.get("namespace")
    if namespace != parsed.namespace:
        raise _Bad("its recorded namespace is not the signature's")
    blob = parsed.key.blob
    unsigned = {k: v for k, v in event.payload.items() if k != "signature"}
    try:
        if namespace == sshsig.RUNNER:
            if blob not in keys.runner:
                raise _Bad(f"signed by {parsed.signer}, which is not the runner's key")
            message = canonical_json(event_object(event.to_json(), unsigned))
            sshsig.verify(parsed, message, sshsig.RUNNER)
            return ("runner", str(event.seq))
        if namespace == sshsig.ACTION:
            doc = signature.get("signed")
            if not isinstance(doc, dict):
                raise _Bad("an action signature without its document")
            if doc.get("principal") != event.principal:
                raise _Bad("the signed action is another principal's")
            if doc.get("work_package") != event.work_package:
                raise _Bad("the signed action is about another work package")
            _held_by(blob, event.principal, keys, parsed.signer)
            sshsig.verify(parsed, canonical_json(doc), sshsig.ACTION)
            return ("action", str(parsed.armored))
        if namespace == sshsig.ENTRY:
            if event.entry_id is None:
                raise _Bad("an entry signature on an event no entry caused")
            data = _entry_bytes(ws, store, event, str(signature.get("signed", "")))
            agent = keys.agents.get(blob)
            if agent is not None:
                if agent[0] != event.principal or agent[1] != event.work_package:
                    raise _Bad("signed by another run's agent key")
            else:
                _held_by(blob, event.principal, keys, parsed.signer)
            sshsig.verify(parsed, data, sshsig.ENTRY)
            return ("entry", event.entry_id)
    except sshsig.SignatureError as exc:
        raise _Bad(str(exc)) from None
    raise _Bad(f"namespace {namespace!r} is not one Cockpit signs in")


def _held_by(blob: bytes, principal: str | None, keys: _Keys, signer: str) -> None:
    if principal is None or blob not in keys.people.get(principal, set()):
        raise _Bad(f"signed by {signer}, which is not a key of {principal}")


def _entry_bytes(ws: Workspace, store: Store, event: Event, sha256: str) -> bytes:
    """The entry's exact bytes, by the sha256 the signature names: from the event's raw
    text, the entries projection, or the queue's done/ and rejected/ files."""
    candidates: list[bytes] = []
    raw = event.payload.get("raw")
    if isinstance(raw, str):
        candidates.append(raw.encode("utf-8"))
    row = store.entry(event.entry_id or "")
    if row is not None and isinstance(row.get("raw"), str):
        candidates.append(str(row["raw"]).encode("utf-8"))
    for data in candidates:
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    for directory in (ws.queue_dir("done"), ws.queue_dir("rejected")):
        found = _file_with_hash(directory, sha256)
        if found is not None:
            return found
    raise _Bad(f"the signed entry (sha256 {sha256[:12]}…) is not in the record or the queue")


def _file_with_hash(directory: Path, sha256: str) -> bytes | None:
    try:
        names = sorted(p for p in directory.iterdir() if p.is_file() and not p.is_symlink())
    except OSError:
        return None
    for path in names:
        if path.name.endswith((".sig", ".reason.json")):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None
