"""Sessions and budgets (SPEC 9.1, 10.3), from the record alone.

- The session a run resumes: the CLI's own id, recorded on the WP's last `agent_exited`
  of the same driver (never "the latest session" of the CLI), and only if the session
  store in the agent's home is byte for byte what it was when that run ended (its digest
  is recorded on `agent_exited`; else `session_tampered`).
- What the WP has cost: the sum of `usage.cost_usd` over its runs, against the lane's
  `budget_usd`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cockpit.domain import EventType
from cockpit.engine.drivers.base import Driver, plain_session_id, recorded_cost
from cockpit.engine.drivers.home import plain_below
from cockpit.engine.gate import commands
from cockpit.store import Event

FILES_MAX = 20_000  # files of a session store hashed (more: the digest says so)
FILE_MAX = 256 << 20  # bytes of one session file read


def session_digest(home: Path, driver: Driver) -> str:
    """SHA-256 over the paths and contents of the CLI's session store in `home` (symlinks
    hashed as links, never followed)."""
    digest = hashlib.sha256()
    count = 0
    for rel in driver.session_dirs:
        root = home / rel
        if not plain_below(home, rel):  # a link the agent planted: never followed
            digest.update(b"linked:" + os.fsencode(rel))
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                count += 1
                if count > FILES_MAX:
                    digest.update(b"too-many-files")
                    return digest.hexdigest()
                digest.update(os.fsencode(str(path.relative_to(home))) + b"\0")
                try:
                    info = path.lstat()
                    if stat.S_ISREG(info.st_mode) and info.st_size > FILE_MAX:
                        # Not read whole: its size and time stand for it.
                        digest.update(f"big:{info.st_size}:{info.st_mtime_ns}".encode())
                    else:  # a link, a FIFO or a device is named, never opened
                        digest.update(commands.file_digest(path).encode())
                except OSError:
                    digest.update(b"unreadable")
    return digest.hexdigest()


@dataclass(frozen=True)
class Resumable:
    """The session a run may resume, and the digest its store had when it was left."""

    session_id: str
    digest: str | None
    exited_seq: int


def last_session(events: list[Event], driver: Driver) -> Resumable | None:
    """The session of the WP's last run by this driver that recorded one."""
    starts = {e.seq: e.payload.get("driver") for e in events if e.type == EventType.AGENT_STARTED}
    for event in reversed(events):
        if event.type != EventType.AGENT_EXITED:
            continue
        if starts.get(int(event.payload.get("launch") or 0)) != driver.name:
            continue
        usage = event.payload.get("usage") or {}
        session = plain_session_id(usage.get("session_id")) if isinstance(usage, dict) else None
        if session is not None:
            digest = event.payload.get("session_digest")
            return Resumable(session, digest if isinstance(digest, str) else None, event.seq)
    return None


def last_run_end(events: list[Event]) -> int:
    """The seq of the WP's last `agent_exited` (0 before any run)."""
    return max((e.seq for e in events if e.type == EventType.AGENT_EXITED), default=0)


def spent(events: list[Event]) -> tuple[Decimal, int]:
    """What the WP's runs cost (the sum of their recorded `cost_usd`), and how many of a
    driver's runs recorded no cost though they ended by themselves (a run the runner
    stopped or lost is not the agent's doing)."""
    total, unknown = Decimal(0), 0
    for event in events:
        if event.type != EventType.AGENT_EXITED:
            continue
        if event.payload.get("lost") or event.payload.get("stopped"):
            continue
        usage = event.payload.get("usage")
        if not isinstance(usage, dict):
            continue  # not a driver's run
        cost = recorded_cost(usage)
        if cost is None:
            unknown += 1
        else:
            total += cost
    return total, unknown
