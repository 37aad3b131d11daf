"""The handoff queue's file discipline (SPEC 3.1): Maildir-style tmp/new/cur/done/rejected.

Writers create in tmp/, fsync, then link into new/. The sweeper claims a file by renaming
it into cur/ (so two sweepers never take the same file), and when its events are committed
moves it to done/ or, with a reason file, to rejected/.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Container, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the standard library alone at run time: the sweep's helper process
    from cockpit.engine.workspace.layout import Workspace  # runs this module (mover.py)

YOUNG_SECONDS = 1.0


SIG_SUFFIX = ".sig"


def is_ignored(name: str) -> bool:
    """Names the queue never reads as entries: dotfiles, files still being written, and
    signatures (NAME.sig travels with its entry NAME)."""
    return name.startswith(".") or name.endswith((".tmp", ".part", SIG_SUFFIX))


def sig_path(path: Path) -> Path:
    """Where the signature of the entry at `path` lies (SPEC 10.1)."""
    return path.with_name(path.name + SIG_SUFFIX)


def _carry_sig(source: Path, target: Path) -> bool:
    """Move the entry's signature beside the entry's new place, if it has one; True if
    it had one."""
    try:
        os.rename(f"{source}{SIG_SUFFIX}", f"{target}{SIG_SUFFIX}")
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:  # NAME.sig is longer than a name can be: none
            return False
        raise
    return True


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
        with os.scandir(directory) as listing:
            names = sorted(
                entry.name for entry in listing if not is_ignored(entry.name) and not _is_dir(entry)
            )
    except FileNotFoundError:
        return []
    return [child(directory, name) for name in names]


def child(directory: Path, name: str) -> Path:
    """`directory / name` for a plain file name (no separator), made the way pathlib
    makes a listed directory's entries, without parsing the name again (a sweep makes
    one per file and per claim)."""
    make = getattr(directory, "_make_child_relpath", None)
    if make is None or "/" in name or name in ("", ".", ".."):
        return directory / name
    made: Path = make(name)
    return made


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """A real directory (never through a symlink); False if it vanished meanwhile."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except FileNotFoundError:
        return False


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


def unique_path(
    directory: Path,
    name: str,
    reserved_suffixes: Iterable[str] = (),
    taken: Container[str] = (),
) -> Path:
    """A path in `directory` for `name` (shortened if too long) that exists neither itself
    nor with any of the reserved suffixes (name-1.ext, name-2.ext, ... on collision), and
    is none of the names in `taken` (promised to files not moved there yet)."""
    name = fit_name(name)
    stem, dot, ext = name.partition(".")
    suffixes = ("", *reserved_suffixes)
    base = os.path.join(directory, "")  # plain strings: this runs for every queue move
    candidate = name
    n = 1
    while candidate in taken or any(os.path.lexists(base + candidate + s) for s in suffixes):
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


def _staged(directory: Path, name: str, data: bytes) -> Path:
    tmp = directory / f".{os.getpid()}.{time.time_ns()}.{name}.tmp"
    with open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def deliver(ws: Workspace, name: str, data: bytes, sig: bytes | None = None) -> Path:
    """Write `data` as a new entry: create in tmp/, fsync, link into new/ (never
    overwriting), remove the tmp file. With `sig`, its NAME.sig is linked first, so the
    sweep never sees the entry without it. Returns the path in new/."""
    return deliver_into(ws.queue_dir("tmp"), ws.queue_dir("new"), name, data, sig)


def deliver_into(
    tmp_dir: Path, new_dir: Path, name: str, data: bytes, sig: bytes | None = None
) -> Path:
    """`deliver` between any tmp/ and new/ pair (the queue's, or an agent's outbox)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    new_dir.mkdir(parents=True, exist_ok=True)
    staged = _staged(tmp_dir, name, data)
    staged_sig = _staged(tmp_dir, name + SIG_SUFFIX, sig) if sig is not None else None
    try:
        while True:
            target = unique_path(new_dir, name, reserved_suffixes=(SIG_SUFFIX,))
            if staged_sig is not None:
                try:
                    os.link(staged_sig, sig_path(target))
                except FileExistsError:
                    continue
            try:
                os.link(staged, target)
                break
            except FileExistsError:
                if staged_sig is not None:
                    sig_path(target).unlink(missing_ok=True)
                continue
        _fsync_dir(target.parent)
    finally:
        staged.unlink(missing_ok=True)
        if staged_sig is not None:
            staged_sig.unlink(missing_ok=True)
    return target


def _write_tmp(directory: Path, name: str, data: bytes) -> Path:
    tmp = directory / f".{os.getpid()}.{time.time_ns()}.{name}.tmp"
    with open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def _rename_if_free(source: Path, target: Path) -> None:
    if os.path.lexists(target):
        raise FileExistsError(target)
    os.rename(source, target)


def deliver_pair(
    new_dir: Path,
    tmp_dir: Path,
    name: str,
    data: bytes,
    signature: bytes | None,
    *,
    sole_writer: bool = False,
) -> Path:
    """Deliver an entry with its signature (`NAME.sig`) into `new_dir` the Maildir way
    (written in `tmp_dir` first), under a name free for both: the signature is placed
    first (the sweep waits for the `.sig` of a young entry), then the entry. Never
    replaces a file. Returns the entry's path.

    `sole_writer` (an agent's own outbox): placed by rename, so no file there ever has a
    second link (the runner refuses hard-linked files), under a name checked free."""
    target_dir, scratch = new_dir, tmp_dir
    tmp = _write_tmp(scratch, name, data)
    tmp_sig = _write_tmp(scratch, name + ".sig", signature) if signature is not None else None
    place = _rename_if_free if sole_writer else os.link
    try:
        while True:
            target = unique_path(target_dir, name, reserved_suffixes=(".sig",))
            try:
                if tmp_sig is not None:
                    place(tmp_sig, target.with_name(target.name + ".sig"))
            except FileExistsError:
                continue
            try:
                place(tmp, target)
                break
            except FileExistsError:
                if tmp_sig is not None:
                    os.unlink(target.with_name(target.name + ".sig"))
                continue
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
        if tmp_sig is not None:
            tmp_sig.unlink(missing_ok=True)
    return target


def claim(path: Path, cur: Path) -> tuple[Path, bool] | None:
    """Take a file from new/ into cur/ by atomic rename (its NAME.sig with it): where it
    is now, and whether a signature came with it (cur/ held none under that name before:
    nobody else writes there). None if another sweeper took it."""
    target = unique_path(cur, path.name, reserved_suffixes=(SIG_SUFFIX,))
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target, _carry_sig(path, target)


def read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of the regular file at `path` (never through a symlink, never waiting on
    a FIFO), if it holds at most `limit` bytes; None if it is anything else. OSError if
    it cannot be read. What the sweep's helper reads back after a claim, to tell the
    sweep whether the claimed bytes are the ones it parsed."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, remaining = [], limit + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 16))):
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    return None if remaining <= 0 else b"".join(chunks)


def finish(path: Path, done: Path, *, signed: bool = True) -> Path | None:
    """Move an ingested (or duplicate) entry from cur/ to done/, with its NAME.sig unless
    the caller knows it has none (`signed` False: none was beside it when it was read in
    cur/, where nobody else writes); None if another sweeper already moved it (the store,
    not the file, is what makes ingest exactly-once)."""
    target = unique_path(done, path.name, reserved_suffixes=(SIG_SUFFIX,))
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    if signed:
        _carry_sig(path, target)
    return target


def reject_target(rejected: Path, name: str, taken: Container[str] = ()) -> Path:
    return unique_path(rejected, name, (".reason.json", SIG_SUFFIX), taken)


def move_rejected(path: Path, target: Path, reason: dict[str, Any]) -> None:
    """Write NAME.reason.json (atomically), then move the file to rejected/NAME."""
    reason_path = target.with_name(target.name + ".reason.json")
    tmp = target.with_name(f".{target.name}.reason.json.tmp")
    tmp.write_text(json.dumps(reason, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, reason_path)
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, target)
    _carry_sig(path, target)
