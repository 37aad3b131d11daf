"""The one hardened reader of entry files, used by the queue sweep and by `cockpit submit`.

An entry file is untrusted: it is never read through a symlink, never waited on (a FIFO or
a device is refused at once), only a regular file, and never more than 1 MiB + 1 byte.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cockpit.domain import RejectionCode
from cockpit.engine.entries.models import MAX_ENTRY_BYTES, EntryRejected, ParsedEntry
from cockpit.engine.entries.parse import parse_entry, sha256_hex


def display_name(name: str) -> str:
    """A file name as text that can be stored and printed (undecodable bytes escaped)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def read_entry_file(path: Path) -> bytes:
    """Read a queue file without trusting it: never through a symlink, never blocking on a
    FIFO, only a regular file, at most 1 MiB + 1 byte. Raises EntryRejected."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise EntryRejected(RejectionCode.SYMLINK, "symlinks are not accepted as entries")
    if not stat.S_ISREG(info.st_mode):
        raise EntryRejected(RejectionCode.PARSE_ERROR, "not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EntryRejected(
                RejectionCode.SYMLINK, "symlinks are not accepted as entries"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EntryRejected(RejectionCode.PARSE_ERROR, "not a regular file")
        if info.st_size > MAX_ENTRY_BYTES:
            raise EntryRejected(
                RejectionCode.TOO_LARGE,
                f"entry is {info.st_size} bytes; the limit is {MAX_ENTRY_BYTES}",
            )
        chunks = []
        remaining = MAX_ENTRY_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryRejected(
            RejectionCode.TOO_LARGE, f"entry is over {MAX_ENTRY_BYTES} bytes (the limit)"
        )
    return data


Reading = tuple[ParsedEntry | None, EntryRejected | None, str | None]


def read_and_parse(path: Path, earlier: Reading | None = None) -> Reading:
    """(parsed entry, rejection, sha256 of the bytes read) for one queue file; OSError
    (the file vanished or cannot be opened) is the caller's to handle.

    `earlier` is what an earlier read of the same file gave: if the bytes read now hash
    the same, it is returned as it was instead of parsing them again."""
    try:
        data = read_entry_file(path)
    except EntryRejected as exc:
        return None, exc, None
    digest = sha256_hex(data)
    if earlier is not None and earlier[2] == digest:
        return earlier
    try:
        return parse_entry(data, display_name(path.name), digest), None, digest
    except EntryRejected as exc:
        return None, exc, digest
    except (RecursionError, MemoryError, ValueError) as exc:  # e.g. absurdly deep nesting
        message = f"could not be parsed ({type(exc).__name__})"
        return None, EntryRejected(RejectionCode.PARSE_ERROR, message), digest


MAX_SIGNATURE_BYTES = 16 * 1024


def read_signature_file(path: Path) -> bytes | str | None:
    """The bytes of an entry's NAME.sig, read as warily as the entry itself; None when
    there is none, or a sentence saying why it cannot be read (a symlink, a FIFO, too
    large), which the signature check reports as `bad_signature`."""
    name = display_name(path.name)  # what is said of it is stored: text, not raw bytes
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        return f"{name} is not a regular file"
    if info.st_size > MAX_SIGNATURE_BYTES:
        return f"{name} is {info.st_size} bytes, too large to be a signature"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror or exc})"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return f"{name} is not a regular file"
        return os.read(fd, MAX_SIGNATURE_BYTES + 1)[: MAX_SIGNATURE_BYTES + 1]
    finally:
        os.close(fd)
