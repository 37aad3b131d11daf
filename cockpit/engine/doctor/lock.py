"""The doctor's check of the runner lock: who holds it, read without taking it (taking it,
even for a moment, could make a starting runner fail). On Linux the holder comes from
/proc/locks, so a lock kept by a process other than the runner its file names (a child a
runner forked, still running after the runner ended) is found; elsewhere the file's word is
taken when the process it names is alive."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from cockpit.engine.doctor.report import FAIL, OK, Check
from cockpit.engine.runner.lock import lock_holder, lock_named, pid_alive
from cockpit.engine.workspace.layout import Workspace


def _flock_holders(path: Path) -> list[int] | None:
    """The processes that took a lock on `path` and hold it now, from /proc/locks (Linux;
    the device and inode must both match); None if that cannot be told here. A process
    that took it may have ended while a child it forked keeps it: its pid is still given."""
    try:
        info = os.stat(path)
        text = Path("/proc/locks").read_text(encoding="ascii")
    except OSError:
        return None
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}"
    pids = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[5].count(":") == 2:
            pid, (major, minor, inode) = parts[4], parts[5].split(":")
            same = f"{int(major, 16):02x}:{int(minor, 16):02x}" == device
            if same and inode == str(info.st_ino) and pid.isdigit():
                pids.append(int(pid))
    return pids


def lock_check(ws: Workspace) -> Check:
    path = ws.lock_path
    name = "runner lock"
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Check(name, OK, "free (no runner has run here yet)")
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        fix = f"remove {path}"
        return Check(
            name, FAIL, f"{path} is not a regular file of its own: no runner can start", fix
        )
    named = lock_named(ws)
    holders = _flock_holders(path)
    if holders is None:  # no /proc/locks: the file's word, if its process is alive
        holder = lock_holder(ws)
        if holder is None:
            return Check(name, OK, "free")
        return Check(
            name, OK, f"held by {_who(holder)}: pid {holder['pid']} on {holder.get('host')}"
        )
    if not holders:
        said = f" (it last named pid {named['pid']})" if isinstance(named.get("pid"), int) else ""
        return Check(name, OK, f"free{said}")
    live = [pid for pid in holders if pid_alive(pid)]
    if named.get("pid") in live:
        return Check(name, OK, f"held by {_who(named)}: pid {named['pid']} on {named.get('host')}")
    if live and not isinstance(named.get("pid"), int):  # a runner yet to name itself
        return Check(name, OK, f"held by pid {', '.join(map(str, live))} (not named yet)")
    who = ", ".join(
        f"pid {pid}" + ("" if pid in live else " (ended: a child it forked keeps it)")
        for pid in holders
    )
    named_said = f"pid {named['pid']}" if isinstance(named.get("pid"), int) else "no process"
    return Check(
        name,
        FAIL,
        f"stale: held by {who}, while the lock file names {named_said}: no runner can start",
        "stop the process that keeps it (`fuser` on the lock file names it)",
    )


def _who(holder: dict[str, Any]) -> str:
    return "the TUI" if holder.get("agents") is False else "a runner"
