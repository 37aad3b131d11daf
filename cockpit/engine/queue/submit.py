"""`cockpit submit`: validate entry files, then place them into queue/new/ the Maildir way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.entries.models import EntryRejected, ParsedEntry
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.entries.reader import display_name, read_entry_file
from cockpit.engine.ingest.checks import check_static
from cockpit.engine.queue import maildir as queue
from cockpit.engine.trust import signer, sshsig
from cockpit.engine.trust.keys import load_key
from cockpit.engine.workspace.layout import Workspace


@dataclass(frozen=True)
class SubmitError:
    file: str
    code: str
    message: str


def validate_file(ws: Workspace, path: Path) -> tuple[bytes, ParsedEntry]:
    """Read `path` once, with the sweep's own reader (so a symlink, FIFO or device is
    refused at once, never waited on), and run every check that needs no queue state
    (parse, schema, tenant, principal, capability, path escape). Returns the bytes read
    and the parsed entry; raises EntryRejected."""
    data = read_entry_file(path)
    parsed = parse_entry(data, display_name(path.name))
    check_static(parsed, ws.config)
    return data, parsed


def submit(
    ws: Workspace, paths: list[Path], *, sign: bool = False, key: Path | None = None
) -> tuple[list[str], list[SubmitError]]:
    """Validate every file; if all pass, deliver each into queue/new/ in order, each with
    its signature: `FILE.sig` beside it if there is one, else, with `sign`, one made now
    with `key`, $COCKPIT_SIGNING_KEY or the principal's ssh-agent key (SPEC 10.1).

    Returns (submitted entry ids, errors). When any file fails, nothing is delivered, so a
    batch is never half-submitted. Raises Refused/InputError when signing is impossible.
    """
    parsed: list[tuple[Path, bytes, ParsedEntry]] = []
    errors: list[SubmitError] = []
    for path in paths:
        try:
            parsed.append((path, *validate_file(ws, path)))
        except EntryRejected as exc:
            errors.append(SubmitError(str(path), exc.code.value, exc.message))
        except OSError as exc:
            errors.append(SubmitError(str(path), "unreadable", exc.strerror or str(exc)))
    if errors:
        return [], errors
    signed: list[tuple[Path, bytes, bytes | None, ParsedEntry]] = []
    for path, data, entry in parsed:
        sig = _existing_signature(path)
        if sig is None and not sign and ws.config.signatures_required:
            # The runner would reject it as `unsigned`: say so now, when it can be fixed.
            errors.append(
                SubmitError(
                    str(path),
                    "unsigned",
                    f"this workspace requires signed entries (policy.signatures: required) "
                    f"and {path.name} has no {path.name}.sig: submit it with --sign",
                )
            )
        signed.append((path, data, sig, entry))
    if errors:
        return [], errors
    for n, (path, data, sig, entry) in enumerate(signed):
        if sig is None and sign:
            source = signer.choose_key(ws.config, entry.entry.principal, key, workspace=ws.root)
            signed[n] = (path, data, signer.sign(data, sshsig.ENTRY, source).encode(), entry)
    for path, data, sig, entry in signed:
        queue.deliver(ws, queue.readable_name(path.name, entry.entry.id), data, sig)
    return [entry.entry.id for _, _, _, entry in signed], []


def submit_data(
    ws: Workspace, named: list[tuple[str, bytes]], *, sign: bool, key: Path | None = None
) -> tuple[list[str], list[SubmitError]]:
    """`submit` for entries made in memory (`cockpit book`): each (file name, bytes) is
    checked as a submitted file is, then, if all pass, signed (with `sign`, as `--sign`
    signs) and delivered into queue/new/ in order. Returns (entry ids, errors); nothing is
    delivered when any fails. Raises Refused/InputError when signing is impossible."""
    parsed: list[tuple[str, bytes, ParsedEntry]] = []
    errors: list[SubmitError] = []
    for name, data in named:
        try:
            entry = parse_entry(data, name)
            check_static(entry, ws.config)
            parsed.append((name, data, entry))
        except EntryRejected as exc:
            errors.append(SubmitError(name, exc.code.value, exc.message))
    if not errors and not sign and ws.config.signatures_required:
        message = "this workspace requires signed entries (policy.signatures: required)"
        errors = [SubmitError(name, "unsigned", message) for name, _, _ in parsed]
    if errors:
        return [], errors
    signatures: list[bytes | None] = []
    for _, data, entry in parsed:
        if not sign:
            signatures.append(None)
            continue
        source = signer.choose_key(ws.config, entry.entry.principal, key, workspace=ws.root)
        signatures.append(signer.sign(data, sshsig.ENTRY, source).encode())
    for (name, data, entry), sig in zip(parsed, signatures, strict=True):
        queue.deliver(ws, queue.readable_name(name, entry.entry.id), data, sig)
    return [entry.entry.id for _, _, entry in parsed], []


def _existing_signature(path: Path) -> bytes | None:
    """FILE.sig beside a submitted FILE (made with `ssh-keygen -Y sign`), if there is one."""
    sig = path.with_name(path.name + ".sig")
    if not os.path.lexists(sig):
        return None
    return read_entry_file(sig)


def submit_to_outbox(
    outbox: Path, paths: list[Path], principal: str | None, wp_id: str | None
) -> tuple[list[str], list[SubmitError]]:
    """`cockpit submit` inside an agent (`COCKPIT_OUTBOX` set): validate every file with
    the stateless checks (the config is not in the sandbox), check that each names this
    agent and its WP (the runner refuses others anyway), and, if all pass, deliver each
    with its `FILE.sig` (if there is one) into the outbox's new/. The runner takes them
    from there after its own checks (queue/outbox.py)."""
    parsed: list[tuple[Path, bytes, bytes | None, ParsedEntry]] = []
    errors: list[SubmitError] = []
    for path in paths:
        try:
            data = read_entry_file(path)
            entry = parse_entry(data, display_name(path.name))
            sig_path = path.with_name(path.name + ".sig")
            signature = read_entry_file(sig_path) if sig_path.exists() else None
            if signature is None and os.environ.get("COCKPIT_SIGNING_KEY"):
                # The run's own key (SPEC 10.2): `cockpit submit` signs without being asked.
                held = load_key(Path(os.environ["COCKPIT_SIGNING_KEY"]))
                signature = held.sign(data, sshsig.ENTRY).encode()
        except EntryRejected as exc:
            errors.append(SubmitError(str(path), exc.code.value, exc.message))
            continue
        except OSError as exc:
            errors.append(SubmitError(str(path), "unreadable", exc.strerror or str(exc)))
            continue
        named = (entry.entry.principal, entry.entry.work_package)
        if (principal and named[0] != principal) or (wp_id and named[1] != wp_id):
            errors.append(
                SubmitError(
                    str(path),
                    "outbox_refused",
                    f"it names {named[0]} and {named[1]}; this agent is {principal} "
                    f"working on {wp_id}",
                )
            )
            continue
        parsed.append((path, data, signature, entry))
    if errors:
        return [], errors
    for path, data, signature, entry in parsed:
        name = queue.readable_name(path.name, entry.entry.id)
        queue.deliver_pair(outbox / "new", outbox / "tmp", name, data, signature, sole_writer=True)
    return [entry.entry.id for _, _, _, entry in parsed], []
