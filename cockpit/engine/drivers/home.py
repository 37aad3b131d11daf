"""The agent's CLI home (SPEC 10.3): `.cockpit/agent-home/<WP>/`, its HOME in the sandbox.

Made from the owner's login when the WP's agent is first started: only the credential and
settings files the driver's CLI needs are copied (never the owner's session stores, never
a symlink's target); the sandbox binds them read-only over the writable home, so the agent
can use them but not change them, and keeps its own session store there. The owner's real
CLI state is never bound.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from cockpit.engine.drivers.base import Driver

MARK = ".copied"  # beside the home, once the copy was made (lists what was copied)
FILE_MAX = 1 << 20


def owner_home() -> Path | None:
    home = os.environ.get("HOME")
    return Path(home) if home else None


def plain_below(home: Path, rel: str) -> bool:
    """Whether no part of `home/rel` that exists is a symlink (the agent writes its home:
    a link it planted must never turn a copy into a write elsewhere on the host)."""
    path = home
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            return False
        if not path.exists():
            return True
    return True


def prepare_home(home: Path, driver: Driver, source: Path | None) -> list[Path]:
    """Copy the driver's credential files from `source` (the owner's home) into `home`
    the first time; returns the copied files present now (to be bound read-only). The
    mark that the copy was made lies beside the home, where the agent cannot remove it."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    mark = home.with_name(f".{home.name}.{driver.name}{MARK}")
    if not mark.exists() and source is not None and source.resolve() != home.resolve():
        copied = []
        for rel in driver.credential_files:
            origin = source / rel
            try:
                if origin.is_symlink() or not origin.is_file() or origin.stat().st_size > FILE_MAX:
                    continue
                if not plain_below(home, rel):
                    continue
                target = home / rel
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not plain_below(home, rel):  # made between the two looks: not followed
                    continue
                data = origin.read_bytes()
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                copied.append(rel)
            except OSError:
                continue
        mark.write_text("".join(f"{rel}\n" for rel in copied), encoding="utf-8")
    return list(dict.fromkeys(credentials(home, driver) + protect(home, driver)))


def _clear(path: Path) -> None:
    """Remove what is at `path` (a link itself, never its target)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def protect(home: Path, driver: Driver) -> list[Path]:
    """The CLI's settings, hooks, MCP configuration and memory in `home`, made where
    missing (and put back where a run left a link or something else in their place),
    to be bound read-only; the files the CLI rewrites on each start are removed. Returns
    the paths to bind read-only."""
    shown: list[Path] = []
    for rel in driver.reset_files:
        if plain_below(home, str(Path(rel).parent)):
            with contextlib.suppress(OSError):
                _clear(home / rel)
    for rel, content in driver.settings_files:
        path = home / rel
        try:
            if not plain_below(home, str(Path(rel).parent)):
                continue
            if path.is_symlink() or (path.exists() and not path.is_file()):
                _clear(path)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
        except OSError:
            continue
        if plain_below(home, rel) and path.is_file():
            shown.append(path)
    for rel in driver.settings_dirs:
        path = home / rel
        try:
            if not plain_below(home, str(Path(rel).parent)):
                continue
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                _clear(path)
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if plain_below(home, rel) and path.is_dir():
            shown.append(path)
    return list(dict.fromkeys(shown))


def credentials(home: Path, driver: Driver) -> list[Path]:
    """The driver's credential files in `home` (regular files, reached through no link)."""
    found = []
    for rel in driver.credential_files:
        path = home / rel
        if plain_below(home, rel) and path.is_file():
            found.append(path)
    return found
