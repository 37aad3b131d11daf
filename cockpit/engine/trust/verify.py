"""Checking the record's signatures offline (SPEC 10.4), from the record alone.

Walking the chain in order, a signature counts for an event only if its key belonged to the
event's principal at that point as the chain itself records it (`config_applied` for
people and the runner, `agent_key_issued`/`agent_key_revoked` for agent runs), it signs this
very event (the entry whose sha256 the event names, the action document that matches the
event, or, for the runner, the event itself), and it is not used again by another cause.
An action signature counts only for an event its action causes, whose payload says what
its signed args say (cockpit.engine.trust.action_events), and only for the consecutive
events of that one action (its transaction), each type as often as the action causes it.
An entry signature counts only for an event that entry could have caused: the signed bytes
parse as an entry with the event's id, principal, WP and workspace, of a kind that causes
that event type (once), not used up by a signed rejection, and within an agent key's kinds.
Keys change only by the runner's word: a `config_applied` or agent key event that the
runner key signed.

Once the chain records `signatures: required` (a `config_applied`), every later event must
carry such a signature: a row appended straight into the database by anyone without a key
makes the record not ok, with that row as `first_bad_seq`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.domain import ENTRY_EVENT_TYPES, EventType, Kind
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.entries.models import Entry, EntryRejected, EvidenceBody
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.trust import sshsig
from cockpit.engine.trust.action_events import action_problem, allowed_more
from cockpit.engine.trust.entries import NEVER_AGENT_SIGNED
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
    workspace: str | None = None
    # Entry ids used up by a signed rejection, and the (entry id, event type) pairs already
    # caused: a signed entry causes each of its events once, and a rejected one none.
    used_ids: set[str] = field(default_factory=set)
    caused: set[tuple[str, str]] = field(default_factory=set)


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
        people={name: {k.blob for k in ws.config.keys_of(name)} for name in ws.config.principals},
        workspace=ws.config.workspace,
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
    files = _QueueFiles(ws)
    keys = initial_keys(ws, runner_key)
    last_cause: tuple[str, str] | None = None
    used: set[str] = set()
    run = _Run()
    for event in store.iter_events(until_seq=upto):  # streamed: memory stays flat
        signature = event.payload.get("signature")
        problem: str | None = None
        cause: tuple[str, str] | None = None
        if not isinstance(signature, dict) or signature.get("unsigned") or not signature:
            report.unsigned += 1
            run.reset()
            if keys.required:
                report.fail(event.seq, f"event {event.seq} ({event.type}) is not signed")
        else:
            report.checked += 1
            sig = str(signature.get("sig"))
            try:
                cause = _check(files, store, event, signature, keys)
            except _Bad as exc:
                problem = str(exc)
            else:
                if cause[0] == "action":
                    problem = run.reuse(sig, sig in used, event, signature)
                elif sig in used and cause != last_cause:
                    problem = "its signature was already used by another event's cause"
                used.add(sig)
                last_cause = cause
            if problem is not None:
                run.reset()
                report.bad += 1
                report.fail(event.seq, f"event {event.seq} ({event.type}): {problem}")
            elif cause is not None and cause[0] != "action":
                run.reset()
        if problem is not None:
            continue
        if event.type == EventType.ENTRY_REJECTED:
            _use_up(keys, used, event)
        # Who may sign what changes only by the runner's word: a `config_applied` signed by
        # the runner key, agent keys issued or revoked by it (unsigned only while the chain
        # does not require signatures). An entry or action signature, even a valid one,
        # grants nothing.
        by_runner = cause is not None and cause[0] == "runner"
        if event.type == EventType.CONFIG_APPLIED and by_runner:
            _apply_config(keys, event, pinned)
        elif not (by_runner or (cause is None and not keys.required)):
            continue
        elif event.type == EventType.AGENT_KEY_ISSUED:
            payload = event.payload
            blobs = _blobs([str(payload.get("public_key", ""))])
            for blob in blobs:
                keys.agents[blob] = (
                    str(payload.get("principal")),
                    str(payload.get("work_package")),
                    frozenset(payload.get("kinds") or []),
                )
        elif event.type == EventType.AGENT_KEY_REVOKED:
            for blob in _blobs([str(event.payload.get("public_key", ""))]):
                keys.agents.pop(blob, None)
    return report


class _Bad(Exception):
    pass


class _Run:
    """The events one action signature has covered so far: an action appends its events
    in one transaction, so a signature may cover only consecutive events (the ones right
    after its first), each of a type its action causes, no more often than it causes it."""

    def __init__(self) -> None:
        self.sig: str | None = None
        self.types: dict[str, int] = {}
        self.previous: tuple[str, dict[str, Any]] | None = None

    def reset(self) -> None:
        self.sig, self.types, self.previous = None, {}, None

    def reuse(self, sig: str, seen: bool, event: Event, signature: dict[str, Any]) -> str | None:
        """Why `event` may not carry action signature `sig` here (None: it may)."""
        if sig != self.sig:
            if seen:
                self.reset()
                return "its signature was already used by the events of another action"
            self.sig, self.types, self.previous = sig, {}, None
        doc = signature.get("signed")
        signed = doc if isinstance(doc, dict) else {}
        if not allowed_more(signed, self.types, event.type, self.previous):
            return f"its signed action did not cause this {event.type} after its other events"
        self.types[event.type] = self.types.get(event.type, 0) + 1
        self.previous = (str(event.type), event.payload)
        return None


def _apply_config(keys: _Keys, event: Event, pinned: bool) -> None:
    payload = event.payload
    people = payload.get("principals_keys") or {}
    keys.people = {str(name): _blobs(list(lines)) for name, lines in people.items()}
    if not pinned and payload.get("runner_key"):
        keys.runner = _blobs([str(payload["runner_key"])])
    keys.required = payload.get("signatures") == "required"
    if "workspace" in payload:
        keys.workspace = payload.get("workspace")


def _use_up(keys: _Keys, used: set[str], event: Event) -> None:
    """A validly signed entry that was rejected uses up its id and its signature (10.1):
    no later event may be caused by it."""
    signature = event.payload.get("entry_signature")
    if event.payload.get("signed") and isinstance(signature, dict):
        used.add(str(signature.get("sig")))
        if event.entry_id is not None:
            keys.used_ids.add(event.entry_id)


def _check(
    files: _QueueFiles, store: Store, event: Event, signature: dict[str, Any], keys: _Keys
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
            if doc.get("workspace") != keys.workspace:
                raise _Bad(f"the signed action is for workspace {doc.get('workspace')!r}")
            problem = action_problem(doc, str(event.type), unsigned)
            if problem is not None:
                raise _Bad(problem)
            _held_by(blob, event.principal, keys, parsed.signer)
            sshsig.verify(parsed, canonical_json(doc), sshsig.ACTION)
            return ("action", str(parsed.armored))
        if namespace == sshsig.ENTRY:
            if event.entry_id is None:
                raise _Bad("an entry signature on an event no entry caused")
            data = _entry_bytes(files, store, event, str(signature.get("signed", "")))
            entry = _signed_entry_causes(event, data, keys)
            kind = entry.kind
            measured = isinstance(entry.body, EvidenceBody) and entry.body.measured_by == "runner"
            agent = keys.agents.get(blob)
            if blob in keys.runner or measured:
                if not (blob in keys.runner and measured):
                    raise _Bad("only evidence measured by the runner is signed by its key")
            elif agent is not None:
                if agent[0] != event.principal or agent[1] != event.work_package:
                    raise _Bad("signed by another run's agent key")
                if kind.value not in agent[2] or kind in NEVER_AGENT_SIGNED:
                    raise _Bad(f"an agent key may not sign a {kind.value} entry")
            else:
                _held_by(blob, event.principal, keys, parsed.signer)
            sshsig.verify(parsed, data, sshsig.ENTRY)
            keys.caused.add((event.entry_id, str(event.type)))
            return ("entry", event.entry_id)
    except sshsig.SignatureError as exc:
        raise _Bad(str(exc)) from None
    raise _Bad(f"namespace {namespace!r} is not one Cockpit signs in")


def _signed_entry_causes(event: Event, data: bytes, keys: _Keys) -> Entry:
    """Raise _Bad unless the signed bytes are an entry that could have caused `event`: its
    id, principal, WP and workspace are the event's, the event is one its kind causes, and
    it has not caused this event type already nor been used up by a signed rejection."""
    entry = None
    for name in ("entry.yaml", "entry.md"):  # a YAML entry, or Markdown with front matter
        try:
            entry = parse_entry(data, name).entry
            break
        except EntryRejected as exc:
            problem = exc.message
    if entry is None:
        raise _Bad(f"the signed bytes are not an entry ({problem})")
    for what, theirs, ours in (
        ("id", entry.id, event.entry_id),
        ("principal", entry.principal, event.principal),
        ("work package", entry.work_package, event.work_package),
    ):
        if theirs != ours:
            raise _Bad(f"the signed entry's {what} is {theirs!r}, not the event's {ours!r}")
    if entry.workspace is not None and entry.workspace != keys.workspace:
        raise _Bad(f"the signed entry is for workspace {entry.workspace!r}")
    types = {ENTRY_EVENT_TYPES[entry.kind]}
    if entry.kind is Kind.REVIEW:
        types.add(EventType.TASK_COMPLETED)
    if event.type not in types:
        raise _Bad(f"a {entry.kind.value} entry does not cause {event.type}")
    if entry.id in keys.used_ids:
        raise _Bad(f"entry id {entry.id} was used up by a signed rejection")
    if (entry.id, str(event.type)) in keys.caused:
        raise _Bad(f"entry {entry.id} already caused a {event.type} event")
    return entry


def _held_by(blob: bytes, principal: str | None, keys: _Keys, signer: str) -> None:
    if principal is None or blob not in keys.people.get(principal, set()):
        raise _Bad(f"signed by {signer}, which is not a key of {principal}")


def _entry_bytes(files: _QueueFiles, store: Store, event: Event, sha256: str) -> bytes:
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
    found = files.get(sha256)
    if found is not None:
        return found
    raise _Bad(f"the signed entry (sha256 {sha256[:12]}…) is not in the record or the queue")


class _QueueFiles:
    """The entry files of the queue's done/ and rejected/, by sha256: read once per
    verification, and only when an entry's bytes are not in the record itself."""

    def __init__(self, ws: Workspace) -> None:
        self.directories = (ws.queue_dir("done"), ws.queue_dir("rejected"))
        self.by_hash: dict[str, bytes] | None = None

    def get(self, sha256: str) -> bytes | None:
        if self.by_hash is None:
            self.by_hash = {}
            for directory in self.directories:
                for path in _entry_files(directory):
                    try:
                        data = path.read_bytes()
                    except OSError:
                        continue
                    self.by_hash.setdefault(hashlib.sha256(data).hexdigest(), data)
        return self.by_hash.get(sha256)


def _entry_files(directory: Path) -> list[Path]:
    try:
        paths = sorted(p for p in directory.iterdir() if p.is_file() and not p.is_symlink())
    except OSError:
        return []
    return [p for p in paths if not p.name.endswith((".sig", ".reason.json"))]
