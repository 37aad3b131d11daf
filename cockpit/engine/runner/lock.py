"""The runner lock: one ingester per workspace, an exclusive `flock` on
`.cockpit/runner.lock` that dies with its process. The file names its holder (pid, host,
and whether it starts agents: the TUI ingests but starts none), so a reader can tell
whether anyone is starting the lanes' agents."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
from typing import IO, Any

from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError, RunnerLocked


class RunnerLock:
    """An exclusive fcntl lock on `.cockpit/runner.lock`; it dies with the process."""

    def __init__(self, ws: Workspace, *, agents: bool = True) -> None:
        self.path = ws.lock_path
        # Whether the holder starts the lanes' agents (the runner) or not (the TUI).
        self.agents = agents
        self._handle: IO[str] | None = None

    def acquire(self) -> RunnerLock:
        """Take the lock or raise RunnerLocked naming the holder's pid and host. The lock
        file is never followed through a symlink, and one that is not a regular file of its
        own (a symlink, a directory, a FIFO, a hard link to another file) is refused with
        InputError, never truncated."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        refusal = (
            f"the runner lock {self.path} is not a regular file of its own (a symlink, a "
            "directory, a device or a hard link); remove it and start again"
        )
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise InputError(refusal) from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise InputError(refusal)
        handle = open(fd, "r+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = self._describe(handle.read())
            handle.close()
            raise RunnerLocked(f"another runner holds this workspace ({holder})") from None
        handle.seek(0)
        handle.truncate()
        named = {"pid": os.getpid(), "host": socket.gethostname(), "agents": self.agents}
        handle.write(json.dumps(named))
        handle.flush()
        self._handle = handle
        return self

    @staticmethod
    def _describe(text: str) -> str:
        try:
            info = json.loads(text)
        except ValueError:
            return "holder unknown"
        if not isinstance(info, dict) or "pid" not in info or "host" not in info:
            return "holder unknown"
        # The TUI ingests as a runner does (without starting agents): say it is the TUI.
        who = "the TUI (`cockpit`) open on it, " if info.get("agents") is False else ""
        return f"{who}pid {info['pid']} on host {info['host']}"

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunnerLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(ws: Workspace) -> dict[str, Any] | None:
    """Who holds the runner lock now, as its file names them (`pid`, `host`, `agents`), or
    None if nobody does. Reads only, and takes no lock (a probe could make a starting
    runner fail): the holder is the one named, if that process is alive on this host."""
    info = lock_named(ws)
    if not isinstance(info.get("pid"), int):
        return None
    if info.get("host") != socket.gethostname():
        return info  # another host's runner: its liveness cannot be checked from here
    return info if pid_alive(info["pid"]) else None  # else the file only names the last


def lock_named(ws: Workspace) -> dict[str, Any]:
    """What the runner lock file says of its holder (`pid`, `host`, `agents`), read without
    taking the lock and never through a symlink; {} if nothing (no file, not a regular
    file, not a JSON object)."""
    try:
        fd = os.open(ws.lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        info = json.loads(os.read(fd, 4096) or b"null")
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)
    return info if isinstance(info, dict) else {}


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    except (OverflowError, ValueError):
        return False
    return True
