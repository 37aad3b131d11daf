"""Provenance of a delivery (SPEC 11.3): an in-toto Statement v1 about the delivered commit,
in a DSSE envelope signed with the runner key, that anyone holding the runner's public key
can check offline (`cockpit attest verify`, or any in-toto/DSSE tool).

- The Statement is built and checked with the in-toto attestation library
  (`in_toto_attestation.v1`): its subject is the delivered head, the WP's own commit, by its
  `gitCommit` digest; its predicate type is `PREDICATE_TYPE`; the predicate is what the
  record says of the delivery (the WP, the claim, evidence and common-ground hashes, the
  gate's outcome and predicates, the verified tree, the accepted head, the base tip, the
  merge commit, the acceptance review's principal and signature, the audit seq range and
  the checkpoint that covers it). Protobuf's Struct holds every number as a double, so the
  predicate is written as the record has it (a seq stays an integer), after the library
  has checked the statement.
- The envelope is securesystemslib's DSSE `Envelope`: `payloadType`
  `application/vnd.in-toto+json`, one signature, raw Ed25519 over DSSE's pre-authentication
  encoding (PAE), base64, with `keyid` the runner key's `SHA256:` fingerprint (what
  `ssh-keygen -l` shows for it).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import STATEMENT_TYPE_URI, Statement
from securesystemslib import exceptions as sslib_errors
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from cockpit.engine.config.ssh_keys import PublicKey
from cockpit.engine.text import clip, literal
from cockpit.engine.trust import note
from cockpit.engine.trust.keys import HeldKey
from cockpit.errors import InputError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
# What a Cockpit delivery predicate is (docs/review-and-delivery.md, "Provenance").
PREDICATE_TYPE = "https://cockpit.dev/delivery/v1"
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a full SHA-1 or SHA-256 commit id
_SAID_MAX = 200  # the most of a library's complaint about the file that a reason quotes


def attestation_path(state_dir: Path, wp_id: str) -> Path:
    """Where a WP's attestation is written: `.cockpit/attestations/<WP>.intoto.json`."""
    return state_dir / "attestations" / f"{wp_id}.intoto.json"


def _sslib_key(public: PublicKey) -> SSlibKey:
    """The runner's public key as securesystemslib knows an Ed25519 key, under its
    `SHA256:` fingerprint as the keyid."""
    try:
        raw = note.ed25519_public(public)
    except note.NoteError as exc:
        raise InputError(str(exc)) from None
    return SSlibKey(public.fingerprint, "ed25519", "ed25519", {"public": raw.hex()})


def statement(subject_name: str, head: str, predicate: dict[str, Any]) -> dict[str, Any]:
    """The in-toto Statement v1 about commit `head`, checked by the library. Raises
    ValueError if it is not a valid statement."""
    subject = ResourceDescriptor(name=subject_name, digest={"gitCommit": head})
    built = Statement([subject.pb], PREDICATE_TYPE, predicate)
    built.validate()
    document: dict[str, Any] = json_format.MessageToDict(built.pb)
    document["predicate"] = predicate  # as recorded: integers stay integers
    return document


def envelope(document: dict[str, Any], held: HeldKey) -> dict[str, Any]:
    """`document` as the payload of a DSSE envelope signed with the runner key."""
    payload = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signer = CryptoSigner(held.private, _sslib_key(held.public))
    wrapped = Envelope(payload, PAYLOAD_TYPE, {})
    wrapped.sign(signer)
    result: dict[str, Any] = wrapped.to_dict()
    return result


def write(path: Path, document: dict[str, Any], held: HeldKey) -> Path:
    """Sign `document` (a Statement) into an envelope and write it to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(envelope(document, held), indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Check:
    """What `cockpit attest verify` found: `ok`, and why not (one sentence), with what the
    statement says once its signature verified."""

    ok: bool
    reason: str | None
    keyid: str | None = None
    subject: str | None = None
    work_package: str | None = None
    predicate_type: str | None = None
    via: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "keyid": self.keyid,
            "subject": self.subject,
            "work_package": self.work_package,
            "predicate_type": self.predicate_type,
            "via": self.via,
        }


def read_envelope(path: Path) -> bytes:
    """The bytes of an attestation file (a regular file, no FIFO waited on). Raises
    InputError when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_ENVELOPE_BYTES + 1)
    finally:
        os.close(fd)


def verify(data: bytes, public: PublicKey, commit: str | None = None) -> Check:
    """Check an attestation's bytes offline: a DSSE envelope of an in-toto Statement v1
    of Cockpit's predicate type, signed by `public` (the runner's key), about a commit
    (`commit`, a full commit id of 40 or 64 hex digits, when given). Raises InputError if
    `commit` is not a full commit id or `public` not an Ed25519 key. Every text in a
    reason that comes from the file is shown literally (control characters escaped)."""
    wanted = commit.lower() if commit is not None else None
    if wanted is not None and not _COMMIT.fullmatch(wanted):
        raise InputError(
            f"--commit {literal(commit)} is not a full commit id (40 or 64 hexadecimal digits)"
        )
    key = _sslib_key(public)
    if len(data) > MAX_ENVELOPE_BYTES:
        return Check(False, f"the file is larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        wrapped = Envelope.from_dict(raw)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return Check(False, f"it is not a DSSE envelope ({_said(exc)})")
    except sslib_errors.FormatError as exc:
        return Check(False, f"it is not a DSSE envelope ({_said(exc)})")
    keyids = ", ".join(clip(literal(k), 80) for k in sorted(wrapped.signatures)[:5]) or "none"
    if wrapped.payload_type != PAYLOAD_TYPE:
        shown = clip(literal(wrapped.payload_type), 80)
        return Check(False, f"its payloadType is '{shown}', not {PAYLOAD_TYPE}")
    try:
        wrapped.verify([key], 1)
    except (sslib_errors.VerificationError, ValueError):
        return Check(
            False,
            f"its signature does not verify with the runner key {key.keyid} (signed by: {keyids})",
        )
    return _statement_check(wrapped.payload, key.keyid, wanted)


def _statement_check(payload: bytes, keyid: str, wanted: str | None) -> Check:
    try:
        document = json.loads(payload.decode("utf-8"))
        parsed = json_format.ParseDict(document, Statement([], "", {}).pb)
        Statement.copy_from_pb(parsed).validate()
    except (ValueError, UnicodeDecodeError, json_format.ParseError) as exc:
        return Check(False, f"its payload is not an in-toto Statement v1 ({_said(exc)})", keyid)
    if document.get("_type") != STATEMENT_TYPE_URI:
        return Check(False, f"its statement type is not {STATEMENT_TYPE_URI}", keyid)
    if document.get("predicateType") != PREDICATE_TYPE:
        return Check(False, f"its predicateType is not {PREDICATE_TYPE}", keyid)
    subjects = document.get("subject") or []
    head = str(((subjects[0] if subjects else {}).get("digest") or {}).get("gitCommit", ""))
    predicate = document.get("predicate") or {}
    work_package = str((predicate.get("work_package") or {}).get("id") or "") or None
    delivery = predicate.get("delivery") or {}
    found = Check(
        True,
        None,
        keyid,
        head or None,
        work_package,
        PREDICATE_TYPE,
        str(delivery.get("via")) if delivery.get("via") else None,
        predicate,
    )
    if not head:
        return Check(False, "its subject names no gitCommit digest", keyid)
    if wanted is not None and head.lower() != wanted:
        return Check(
            False,
            f"it is about commit {clip(literal(head), 80)}, not {wanted}",
            keyid,
            head,
            work_package,
            PREDICATE_TYPE,
            found.via,
        )
    return found


def _said(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return clip(literal(text[0]), _SAID_MAX) if text else type(exc).__name__
