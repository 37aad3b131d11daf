"""Checkpoints: the chain's size, head and RFC 6962 Merkle root written outside the
database, so a truncated or rewritten log is caught by `audit verify` (SPEC 7).

A checkpoint also keeps the leaf hashes it adds to the previous one (`leaves_from`, the
previous checkpoint's size, and `leaves`, those leaves base64-encoded back to back), so a
rewrite is named at the first leaf that differs from the checkpoint's tree, not only as
"somewhere since the last good checkpoint". The leaves are trusted only if, with the
verified prefix before them, they give the checkpoint's Merkle root. Older checkpoints
without them still verify, naming the range."""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.store import merkle
from cockpit.store.audit import ChainReport
from cockpit.store.db import Store
from cockpit.store.events import NewEvent


def _leaves(store: Store, size: int) -> list[bytes]:
    rows = store.conn.execute("SELECT leaf FROM events WHERE seq <= ? ORDER BY seq", (size,))
    return [bytes.fromhex(r[0]) for r in rows]


def write_checkpoint(store: Store, directory: Path) -> dict[str, Any]:
    """Write `.cockpit/checkpoints/NNNNNNNN.json` for the chain as it stands, then append
    `checkpoint_created`. Returns the checkpoint document."""
    directory.mkdir(parents=True, exist_ok=True)
    with store.transaction():
        size = store.head_seq()
        head = store.conn.execute("SELECT chain FROM events WHERE seq = ?", (size,)).fetchone()
        leaves = _leaves(store, size)
        document = {
            "size": size,
            "head": head[0] if head else None,
            "merkle_root": merkle.root(leaves).hex(),
            "ts": store.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        since = max(
            (int(c["size"]) for c in checkpoints(directory) if "problem" not in c),
            default=0,
        )
        since = since if since <= size else 0
        kept = {
            "leaves_from": since,
            "leaves": base64.b64encode(b"".join(leaves[since:])).decode("ascii"),
        }
        path = directory / f"{size:08d}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({**document, **kept}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        # The event records the checkpoint, not its leaves (the chain has those).
        store.append(
            NewEvent(
                EventType.CHECKPOINT_CREATED, None, None, None, {**document, "file": path.name}
            )
        )
    return {**document, "file": str(path)}


def first_differing_leaf(store: Store, cp: dict[str, Any]) -> int | None:
    """The first seq whose leaf differs from the checkpoint's tree, if the checkpoint keeps
    its leaves and they are its own (with the log's leaves before them they give its
    Merkle root); None if it cannot tell."""
    since, kept = cp.get("leaves_from"), cp.get("leaves")
    size = int(cp["size"])
    if not isinstance(since, int) or not isinstance(kept, str) or not 0 <= since <= size:
        return None
    try:
        raw = base64.b64decode(kept, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 32 * (size - since):
        return None
    theirs = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    ours = _leaves(store, size)
    if merkle.root(ours[:since] + theirs).hex() != cp.get("merkle_root"):
        return None  # the kept leaves are not the tree's, or the prefix was changed too
    for offset, (mine, recorded) in enumerate(zip(ours[since:], theirs, strict=False)):
        if mine != recorded:
            return since + offset + 1
    return None


def checkpoints(directory: Path) -> list[dict[str, Any]]:
    """Every checkpoint, by size. One that cannot be read or lacks its fields is returned
    with `problem` set: a damaged checkpoint must fail verification, not be skipped."""
    found = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or not isinstance(document.get("size"), int):
                raise ValueError("no integer size")
            found.append({**document, "file": path.name})
        except (OSError, ValueError) as exc:
            found.append({"file": path.name, "size": 0, "problem": str(exc)})
    return sorted(found, key=lambda d: int(d["size"]))


def verify_against(store: Store, report: ChainReport, directory: Path) -> ChainReport:
    """Check an intact chain against the checkpoints: a log shorter than a checkpoint was
    truncated; a head or Merkle root that differs means history was rewritten."""
    if not report.ok:
        return report
    previous_size = 0
    for cp in checkpoints(directory):
        if "problem" in cp:
            return ChainReport(
                False, report.events, 1, f"checkpoint {cp['file']} cannot be read ({cp['problem']})"
            )
        size = int(cp["size"])
        if report.events < size:
            return ChainReport(
                False,
                report.events,
                report.events + 1,
                f"the log ends at seq {report.events} but checkpoint {cp['file']} records "
                f"{size} events (truncated)",
            )
        if size == 0:
            continue
        head = store.conn.execute("SELECT chain FROM events WHERE seq = ?", (size,)).fetchone()
        root = merkle.root(_leaves(store, size)).hex()
        if head is None or head[0] != cp.get("head") or root != cp.get("merkle_root"):
            first = first_differing_leaf(store, cp)
            if first is not None and first > previous_size:
                return ChainReport(
                    False,
                    report.events,
                    first,
                    f"event seq {first} differs from checkpoint {cp['file']} (its leaf is not "
                    "the one the checkpoint's tree holds: history was rewritten from there)",
                )
            return ChainReport(
                False,
                report.events,
                previous_size + 1,
                f"history between seq {previous_size + 1} and {size} differs from checkpoint "
                f"{cp['file']}",
            )
        previous_size = size
    return report
