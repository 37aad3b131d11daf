"""Reading many blobs at once (for the change's diff, SPEC 11.1): each blob's size,
whether it holds a NUL byte (what makes a file binary) and its sha256, read with one
`cat-file --batch` per chunk of at most `READ_CHUNK` bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.repo import gitops

READ_CHUNK = 64 * 1024 * 1024  # blob bytes read by one `cat-file --batch`


@dataclass(frozen=True)
class Blob:
    size: int
    nul: bool
    sha256: str


def read_blobs(where: Path, env: dict[str, str], ids: set[str]) -> dict[str, Blob]:
    """Size, NUL byte and sha256 of each blob of `ids` (git run in `where` with `env`);
    ids that name no blob are left out. Raises GitError."""
    wanted = sorted(ids)
    if not wanted:
        return {}
    feed = "".join(f"{oid}\n" for oid in wanted).encode()
    checked = gitops.run(where, "cat-file", "--batch-check", extra_env=env, stdin=feed)
    sizes: dict[str, int] = {}
    for line in checked.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    found: dict[str, Blob] = {}
    for chunk in _chunks([o for o in wanted if o in sizes], sizes):
        feed = "".join(f"{oid}\n" for oid in chunk).encode()
        out = gitops.run(where, "cat-file", "--batch", extra_env=env, stdin=feed)
        data = out.encode("utf-8", "surrogateescape")
        at = 0
        for oid in chunk:
            header_end = data.index(b"\n", at)
            size = int(data[at:header_end].split(b" ")[2])
            content = data[header_end + 1 : header_end + 1 + size]
            found[oid] = Blob(size, b"\0" in content, hashlib.sha256(content).hexdigest())
            at = header_end + 1 + size + 1
    return found


def _chunks(ids: list[str], sizes: dict[str, int]) -> Iterator[list[str]]:
    chunk: list[str] = []
    total = 0
    for oid in ids:
        if chunk and total + sizes[oid] > READ_CHUNK:
            yield chunk
            chunk, total = [], 0
        chunk.append(oid)
        total += sizes[oid]
    if chunk:
        yield chunk
