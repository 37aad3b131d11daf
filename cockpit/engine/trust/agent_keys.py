"""Agent keys (SPEC 10.2): one Ed25519 key per agent run, scoped to (principal, WP, stage)
and to the entry kinds that stage needs, issued when the runner starts the agent and revoked
when the run ends, both recorded in the chain.

The private key is written once, 0600, into the run's own directory (which only that
agent's sandbox binds) and handed over as `COCKPIT_SIGNING_KEY`; the runner keeps nothing
of it. An agent key signs only entries of its kinds, for its principal and its WP, while it
is live; never a work_package, a dispatch or a review.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, Kind, State
from cockpit.engine.trust import keys
from cockpit.store import NewEvent

# What each stage of the agent's work may file.
STAGE_KINDS: dict[State, tuple[Kind, ...]] = {
    State.DISPATCHED: (Kind.SCOPE_CONFIRMATION,),
    State.IN_PROGRESS: (
        Kind.COMMON_GROUND,
        Kind.EVIDENCE,
        Kind.CLAIM,
        Kind.RECOVERY,
        Kind.CANDIDATE,
    ),
    State.RECOVERING: (
        Kind.COMMON_GROUND,
        Kind.EVIDENCE,
        Kind.CLAIM,
        Kind.RECOVERY,
        Kind.CANDIDATE,
    ),
}
KEY_FILE = "signing_key"


@dataclass(frozen=True)
class IssuedKey:
    """A run's key: where its private half lies for the agent, and what was recorded."""

    path: Path
    fingerprint: str
    public_line: str
    kinds: tuple[str, ...]
    # Only for a driver's run (SPEC 9.1): the runner files for the agent, so the key is
    # held in memory and never written where the agent could read it.
    held: keys.HeldKey | None = None

    def issued(self, principal: str, wp_id: str, stage: str, run: int) -> NewEvent:
        payload: dict[str, Any] = {
            "principal": principal,
            "work_package": wp_id,
            "stage": stage,
            "run": run,
            "fingerprint": self.fingerprint,
            "public_key": self.public_line,
            "kinds": list(self.kinds),
        }
        return NewEvent(EventType.AGENT_KEY_ISSUED, wp_id, principal, None, payload)

    def revoked(self, principal: str, wp_id: str, run: int, why: str) -> NewEvent:
        payload = {
            "principal": principal,
            "work_package": wp_id,
            "run": run,
            "fingerprint": self.fingerprint,
            "public_key": self.public_line,
            "reason": why,
        }
        return NewEvent(EventType.AGENT_KEY_REVOKED, wp_id, principal, None, payload)


def _own_dir(directory: Path) -> None:
    """`directory` as a real directory of its own, 0700: a link or file an agent left
    there (in its home, between runs) is removed, never followed."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        directory.unlink()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.is_symlink() or not directory.is_dir():
        raise OSError(f"{directory} is not a directory of the runner's")
    os.chmod(directory, 0o700)


def issue_held(directory: Path, stage: str) -> IssuedKey:
    """A fresh key for one driver run, kept in memory only (any key an earlier run left
    in `directory` is removed)."""
    _own_dir(directory)
    for old in (directory / KEY_FILE, directory / (KEY_FILE + ".pub")):
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    held = keys.new_agent_key()
    kinds = tuple(k.value for k in STAGE_KINDS.get(State(stage), ()))
    public = held.public
    return IssuedKey(directory / KEY_FILE, public.fingerprint, public.line(), kinds, held)


def issue(directory: Path, stage: str) -> IssuedKey:
    """A fresh key for one run, its private half written to `directory/signing_key`
    (0600, the directory 0700 and emptied of any earlier run's key first)."""
    _own_dir(directory)
    path = directory / KEY_FILE
    for old in (path, path.with_name(KEY_FILE + ".pub")):
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    held = keys.new_agent_key()
    public = keys.write_key(path, held.private, "cockpit-agent")
    kinds = tuple(k.value for k in STAGE_KINDS.get(State(stage), ()))
    return IssuedKey(path, public.fingerprint, public.line(), kinds)


def destroy(issued: IssuedKey) -> None:
    """Remove the run's private key from disk (the revocation is what counts; this keeps
    a dead key from lying around). Never through a link the agent put in its place."""
    if issued.path.parent.is_symlink():
        return
    for path in (issued.path, issued.path.with_name(KEY_FILE + ".pub")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
