"""The agent's outbox (SPEC 10.3): `queue/outbox/<WP>/` with `tmp/` and `new/`, the only
place of the queue a sandboxed agent can write (`COCKPIT_OUTBOX`; `cockpit submit` inside
an agent writes there).

The runner makes the directory before the run and keeps a handle on its `new/`; it reads
entries only beneath that handle (`dir_fd`), never following a symlink (`O_NOFOLLOW`),
never waiting on a FIFO (`O_NONBLOCK` + `fstat`), and takes only regular files with one
link of at most 1 MiB. Each entry must name the run's agent (`principal`) and its WP;
its signature (`NAME.sig`) must be the run's agent key's (`outbox_signature_ok`).
A taken entry is copied with its `.sig`, as a pair, to names the runner chooses in
`queue/new/` (never replacing a file), where the sweep ingests it like any other. A
refused one is moved aside to `queue/rejected/` with `NAME.reason.json` (code
`outbox_refused`) when it is a regular file, else removed; the refusals are listed on the
run's `agent_exited`. Past `runner.outbox_max` entries in one run the agent is stopped
(`outbox_flood`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.engine.config.ssh_keys import PublicKey
from cockpit.engine.entries.models import EntryRejected
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.queue import maildir
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace

MAX_BYTES = 1 << 20
SIG = ".sig"


def outbox_dir(ws: Workspace, wp_id: str) -> Path:
    return ws.queue / "outbox" / wp_id


def outbox_signature_ok(
    entry: bytes, signature: bytes | None, agent_key: PublicKey | None
) -> bool | None:
    """Whether `signature` is the run's agent key's signature over `entry` (SPEC 10.2):
    an outbox entry must be signed by that key whatever `policy.signatures` says. None
    only for a run that was issued no key (it never passes for checked)."""
    if agent_key is None:
        return None
    if signature is None:
        return False
    try:
        parsed = sshsig.parse(signature)
        sshsig.verify(parsed, entry, sshsig.ENTRY)
    except sshsig.SignatureError:
        return False
    return parsed.key.blob == agent_key.blob


@dataclass
class Outbox:
    """One run's outbox: its directory, a handle on its new/, and what was taken."""

    path: Path
    fd: int
    principal: str
    wp_id: str
    limit: int
    agent_key: PublicKey | None = None  # the run's key (SPEC 10.2), set when issued
    taken: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    flooded: bool = False

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def summary(self) -> dict[str, Any]:
        return {
            "taken": [t["entry_id"] for t in self.taken],
            "refused": self.refused,
            # A run issued no key has nothing to check its entries against: said as it is.
            "signature": "not_checked"
            if any(t["signature"] is None for t in self.taken)
            else ("checked" if self.taken else "none"),
            "flooded": self.flooded,
        }


def open_outbox(ws: Workspace, wp_id: str, principal: str) -> Outbox:
    """Make a fresh `queue/outbox/<WP>/` (tmp/, new/) and hold a handle on its new/.
    What a previous run left there is moved aside first."""
    path = outbox_dir(ws, wp_id)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        stale = maildir.unique_path(path.parent, f".stale-{wp_id}")
        os.rename(path, stale)
        shutil.rmtree(stale, ignore_errors=True)
    (path / "tmp").mkdir(parents=True)
    (path / "new").mkdir()
    fd = os.open(path / "new", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    return Outbox(path, fd, principal, wp_id, ws.config.runner.outbox_max)


def _read(fd: int, name: str) -> tuple[bytes | None, str | None]:
    """The bytes of `name` beneath the directory handle `fd`, or why it is refused."""
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError as exc:
        return None, f"not opened ({exc.strerror}): a symbolic link or not a file"
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file"
        if info.st_nlink != 1:
            return None, f"a file with {info.st_nlink} links (a hard link)"
        if info.st_size > MAX_BYTES:
            return None, f"larger than {MAX_BYTES} bytes"
        data = b""
        while chunk := os.read(handle, 1 << 16):
            data += chunk
            if len(data) > MAX_BYTES:
                return None, f"larger than {MAX_BYTES} bytes"
        return data, None
    finally:
        os.close(handle)


def _refuse(ws: Workspace, box: Outbox, name: str, data: bytes | None, why: str) -> None:
    box.refused.append({"file": name, "reason": why})
    if data is not None:
        target = maildir.reject_target(ws.queue_dir("rejected"), f"outbox-{box.wp_id}-{name}")
        reason = {"code": "outbox_refused", "message": why, "outbox": box.wp_id}
        tmp = target.with_name(f".{target.name}.tmp")
        with open(tmp, "xb") as out:
            out.write(data)
        maildir.move_rejected(tmp, target, {**reason, "principal": box.principal})
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=box.fd)


def collect(ws: Workspace, box: Outbox) -> None:
    """Take what the agent filed so far (see the module text); sets `flooded` once the
    run filed more than `limit` entries (the rest is left unread)."""
    if box.fd < 0:
        return
    try:
        names = sorted(os.listdir(box.fd))
    except OSError:
        return
    entries = [n for n in names if not maildir.is_ignored(n) and not n.endswith(SIG)]
    for name in entries:
        if len(box.taken) + len(box.refused) >= box.limit:
            box.flooded = True
            return
        data, why = _read(box.fd, name)
        if data is None:
            _refuse(ws, box, name, None, str(why))
            continue
        signature: bytes | None = None
        if (name + SIG) in names:
            signature, why = _read(box.fd, name + SIG)
            if signature is None:
                _refuse(ws, box, name, data, f"its signature file is {why}")
                continue
        try:
            parsed = parse_entry(data, name)
        except EntryRejected as exc:
            _refuse(ws, box, name, data, f"{exc.code.value}: {exc.message}")
            continue
        if parsed.entry.principal != box.principal or parsed.entry.work_package != box.wp_id:
            why = (
                f"it names {parsed.entry.principal} and {parsed.entry.work_package}; this "
                f"outbox is {box.principal}'s for {box.wp_id}"
            )
            _refuse(ws, box, name, data, why)
            continue
        checked = outbox_signature_ok(data, signature, box.agent_key)
        if checked is False:
            _refuse(ws, box, name, data, "its signature is not this run's agent key's")
            continue
        suffix = ".md" if name.lower().endswith(".md") else ".yaml"
        chosen = f"outbox-{box.wp_id}-{parsed.entry.id}{suffix}"
        ws.ensure_dirs()
        new, tmp = ws.queue_dir("new"), ws.queue_dir("tmp")
        placed = maildir.deliver_pair(new, tmp, chosen, data, signature)
        box.taken.append({"entry_id": parsed.entry.id, "file": placed.name, "signature": checked})
        for gone in (name, name + SIG):
            with contextlib.suppress(OSError):
                os.unlink(gone, dir_fd=box.fd)
