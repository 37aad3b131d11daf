"""The handoff queue's file discipline (SPEC 3.1): Maildir-style tmp/new/cur/done/rejected.

Writers create in tmp/, fsync, then link into new/. The sweeper claims a file by renaming
it into cur/ (so two sweepers never take the same file), and when its events are committed
moves it to done/ or, with a reason file, to rejected/.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cockpit.engine.workspace.layout import Workspace

YOUNG_SECONDS = 1.0


def is_ignored(name: str) -> bool:
    """Names the queue never reads: dotfiles and files still being written."""
    return name.startswith(".") or name.endswith((".tmp", ".part"))


def readable_name(name: str, entry_id: str) -> str:
    """A name the sweep will read for a submitted file: its own, unless the queue would
    ignore it (a dotfile, .tmp, .part), in which case the entry id with its format's suffix."""
    if not is_ignored(name) and name:
        return name
    markdown = name.lower().removesuffix(".tmp").removesuffix(".part").endswith(".md")
    return entry_id + (".md" if markdown else ".yaml")


def pending(directory: Path) -> list[Path]:
    """Entries waiting in `directory`, by name: everything but real directories and the
    names the queue never reads (symlinks, FIFOs and the like are listed: they get rejected)."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if is_ignored(name):
            continue
        try:
            if stat.S_ISDIR((directory / name).lstat().st_mode):
                continue
        except FileNotFoundError:
            continue
        out.append(directory / name)
    return out


MAX_NAME_BYTES = 200  # leaves room for ".reason.json", a "-N" and the ".tmp" of a writer


def fit_name(name: str) -> str:
    """`name`, shortened (keeping its extension and a hash of the whole) if it is too long
    to carry the suffixes the queue adds."""
    if len(os.fsencode(name)) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.partition(".")
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    ext = ext[-20:] if len(os.fsencode(ext)) <= 40 else ""
    short = os.fsencode(stem)[:100].decode("utf-8", "ignore")
    return f"{short}-{digest}{dot if ext else ''}{ext}"


def unique_path(directory: Path, name: str, reserved_suffixes: Iterable[str] = ()) -> Path:
    """A path in `directory` for `name` (shortened if too long) that exists neither itself
    nor with any of the reserved suffixes (name-1.ext, name-2.ext, ... on collision)."""
    name = fit_name(name)
    stem, dot, ext = name.partition(".")
    candidate = name
    n = 1
    while any(os.path.lexists(directory / (candidate + s)) for s in ("", *reserved_suffixes)):
        candidate = f"{stem}-{n}{dot}{ext}"
        n += 1
    return directory / candidate


def is_young(path: Path, now: float | None = None) -> bool:
    """True if the file was modified within the last ~1 s (a `cp` may still be writing)."""
    try:
        mtime = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return ((now if now is not None else time.time()) - mtime) < YOUNG_SECONDS


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deliver(ws: Workspace, name: str, data: bytes) -> Path:
    """Write `data` as a new entry: create in tmp/, fsync, link into new/ (never
    overwriting), remove the tmp file. Returns the path in new/."""
    ws.ensure_dirs()
    tmp = ws.queue_dir("tmp") / f".{os.getpid()}.{time.time_ns()}.{name}.tmp"
    with open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        while True:
            target = unique_path(ws.queue_dir("new"), name)
            try:
                os.link(tmp, target)
                break
            except FileExistsError:
                continue
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def claim(path: Path, cur: Path) -> Path | None:
    """Take a file from new/ into cur/ by atomic rename; None if another sweeper took it."""
    target = unique_path(cur, path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def finish(path: Path, done: Path) -> Path | None:
    """Move an ingested (or duplicate) entry from cur/ to done/; None if another sweeper
    already moved it (the store, not the file, is what makes ingest exactly-once)."""
    target = unique_path(done, path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def reject_target(rejected: Path, name: str) -> Path:
    return unique_path(rejected, name, reserved_suffixes=(".reason.json",))


def move_rejected(path: Path, target: Path, reason: dict[str, Any]) -> None:
    """Write NAME.reason.json (atomically), then move the file to rejected/NAME."""
    reason_path = target.with_name(target.name + ".reason.json")
    tmp = target.with_name(f".{target.name}.reason.json.tmp")
    tmp.write_text(json.dumps(reason, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, reason_path)
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, target)
