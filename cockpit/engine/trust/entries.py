"""Who signed an entry (SPEC 10.1, 10.2): the `unsigned`, `bad_signature` and `stale_entry`
checks, in that order, after `unknown_principal` and before `capability_denied`.

A signature is OpenSSH's SSHSIG in namespace `cockpit-entry` over the entry file's exact
bytes, in the file `NAME.sig` beside it. It speaks for the entry's principal when its key is
one of that principal's keys in cockpit.yaml, or the live key the runner issued to that
principal's agent run for that WP, and the entry's kind is one that run may file. The
runner key signs one thing only: evidence a driver measured itself (`measured_by: runner`,
SPEC 10.2), which no other key may sign.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cockpit.domain import Capability, EventType, Kind, RejectionCode
from cockpit.engine.config.model import Config
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.entries.models import EntryRejected, EvidenceBody, ParsedEntry
from cockpit.engine.trust import sshsig
from cockpit.store import Store


@dataclass(frozen=True)
class AgentKey:
    """A key the runner issued to one agent run (SPEC 10.2), from its `agent_key_issued`."""

    key: PublicKey
    principal: str
    work_package: str
    kinds: frozenset[str]
    issued_seq: int


def live_agent_keys(store: Store, wp_id: str) -> list[AgentKey]:
    """The WP's agent keys that were issued and not yet revoked."""
    events = store.find_events(
        work_package=wp_id,
        types=(EventType.AGENT_KEY_ISSUED, EventType.AGENT_KEY_REVOKED),
        limit=1_000_000,
    )
    revoked = {
        e.payload.get("fingerprint") for e in events if e.type == EventType.AGENT_KEY_REVOKED
    }
    keys = []
    for event in events:
        payload = event.payload
        if event.type != EventType.AGENT_KEY_ISSUED or payload.get("fingerprint") in revoked:
            continue
        keys.append(
            AgentKey(
                key=parse_public_key(str(payload["public_key"])),
                principal=str(payload["principal"]),
                work_package=str(payload["work_package"]),
                kinds=frozenset(payload.get("kinds") or []),
                issued_seq=event.seq,
            )
        )
    return keys


def runner_keys(store: Store) -> set[bytes]:
    """The runner keys in force: the one signing this store's events, and the one the
    chain's last `config_applied` names."""
    lines = [store.signer_public] if store.signer_public else []
    applied = store.find_events(types=(EventType.CONFIG_APPLIED,), limit=1)
    if applied and applied[-1].payload.get("runner_key"):
        lines.append(str(applied[-1].payload["runner_key"]))
    blobs = set()
    for line in lines:
        with contextlib.suppress(KeyFormatError):
            blobs.add(parse_public_key(line).blob)
    return blobs


@dataclass(frozen=True)
class Checked:
    """The outcome of reading an entry's signature, before the checks decide on it: the
    payload its events carry (`payload.signature`), and whether it is a valid signature of
    the entry's principal (which uses up the entry's id even if the entry is rejected)."""

    payload: dict[str, Any]
    valid: bool
    problem: str | None = None


def read_signature(
    parsed: ParsedEntry, sig: bytes | str | None, config: Config, store: Store
) -> Checked:
    """Verify `sig` (the bytes of NAME.sig; None when there is none; text when it could
    not be read, and why) for `parsed`; never raises."""
    if sig is None:
        return Checked({"unsigned": True}, valid=False)
    if isinstance(sig, str):
        return Checked({"unsigned": True}, valid=False, problem=sig)
    try:
        signature = sshsig.parse(sig)
        sshsig.verify(signature, parsed.data, sshsig.ENTRY)
    except sshsig.SignatureError as exc:
        return Checked({"unsigned": True}, valid=False, problem=f"{parsed.file}.sig: {exc}")
    payload = {**sshsig.describe(signature), "signed": parsed.sha256}
    entry = parsed.entry
    measured = isinstance(entry.body, EvidenceBody) and entry.body.measured_by == "runner"
    if signature.key.blob in runner_keys(store):
        if not measured:
            return Checked(
                payload, valid=False, problem="the runner key signs only evidence it measured"
            )
        return Checked({**payload, "runner_key": True}, valid=True)
    if measured:
        return Checked(
            payload,
            valid=False,
            problem="evidence marked measured_by: runner must be signed by the runner key",
        )
    if signature.key.blob in {k.blob for k in config.keys_of(entry.principal)}:
        return Checked(payload, valid=True)
    for agent in live_agent_keys(store, entry.work_package):
        if agent.key.blob != signature.key.blob:
            continue
        if agent.principal != entry.principal or agent.work_package != entry.work_package:
            break
        if entry.kind.value not in agent.kinds:
            return Checked(
                payload,
                valid=False,
                problem=(
                    f"signed by the agent key {signature.signer}, which may not sign "
                    f"{entry.kind.article} {entry.kind.value} "
                    "entry"
                ),
            )
        return Checked({**payload, "agent_key": True}, valid=True)
    return Checked(
        payload,
        valid=False,
        problem=f"signed by {signature.signer}, which is not a key of {entry.principal}",
    )


# Kinds an agent key may never sign, whatever a run's `kinds` say (SPEC 10.2).
NEVER_AGENT_SIGNED = frozenset({Kind.WORK_PACKAGE, Kind.DISPATCH, Kind.REVIEW})


def check_signature(parsed: ParsedEntry, checked: Checked, config: Config, now: datetime) -> None:
    """unsigned, bad_signature, stale_entry (SPEC 3.1 order); raises EntryRejected."""
    entry = parsed.entry
    required = config.signatures_required
    if checked.problem is not None:
        raise EntryRejected(RejectionCode.BAD_SIGNATURE, checked.problem, entry.id)
    if checked.payload.get("unsigned"):
        if required:
            raise EntryRejected(
                RejectionCode.UNSIGNED,
                f"policy.signatures is required and {parsed.file} has no {parsed.file}.sig",
                entry.id,
            )
        return
    if checked.payload.get("agent_key") and entry.kind in NEVER_AGENT_SIGNED:
        raise EntryRejected(
            RejectionCode.BAD_SIGNATURE,
            f"an agent key may never sign a {entry.kind.value} entry",
            entry.id,
        )
    if required:
        age = now - entry.created
        if age > timedelta(seconds=config.policy.max_entry_age_s):
            raise EntryRejected(
                RejectionCode.STALE_ENTRY,
                f"created {int(age.total_seconds())} s ago; policy.max_entry_age_s is "
                f"{config.policy.max_entry_age_s}",
                entry.id,
            )


def booking_problem(store: Store, config: Config, wp_id: str) -> str | None:
    """Why the WP's validation commands may not run under `signatures: required`: its
    booking (the only place a command can come from) must carry a valid signature of a
    principal who may book, checked again here against the recorded bytes, so a booking
    row written into the database by anyone without the owner's key names no command."""
    booked = store.find_events(work_package=wp_id, types=(EventType.TASK_CREATED,), limit=1)
    if not booked:
        return f"{wp_id} has no booking"
    event = booked[0]
    signature = event.payload.get("signature")
    if not isinstance(signature, dict) or signature.get("namespace") != sshsig.ENTRY:
        return f"the booking of {wp_id} is not signed"
    raw = event.payload.get("raw")
    data = raw.encode("utf-8") if isinstance(raw, str) else b""
    try:
        parsed = sshsig.parse(str(signature.get("sig", "")))
        sshsig.verify(parsed, data, sshsig.ENTRY)
    except sshsig.SignatureError as exc:
        return f"the booking's signature does not hold ({exc})"
    principal = str(event.principal)
    if parsed.key.blob not in {k.blob for k in config.keys_of(principal)}:
        return f"the booking is not signed by a key of {principal}"
    if not config.has(principal, Capability.BOOK):
        return f"{principal} may not book"
    return None
