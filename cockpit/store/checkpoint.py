"""Checkpoints: the chain's size, head and RFC 6962 Merkle root written outside the
database, so a truncated or rewritten log is caught by `audit verify` (SPEC 7).

A checkpoint also keeps the leaf hashes it adds to the previous one (`leaves_from`, the
previous checkpoint's size, and `leaves`, those leaves base64-encoded back to back), so a
rewrite is named at the first leaf that differs from the checkpoint's tree, not only as
"somewhere since the last good checkpoint". The leaves are trusted only if, with the
verified prefix before them, they give the checkpoint's Merkle root. Older checkpoints
without them still verify, naming the range.

When the engine passes a signer, the checkpoint is also written as a signed note
(`NNNNNNNN.note`, C2SP signed-note bytes the engine made: the store only keeps them), and
`hold_root` holds the log against the size and root a note signs."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.store import merkle
from cockpit.store.audit import ChainReport
from cockpit.store.db import Store
from cockpit.store.events import NewEvent


def leaves(store: Store, size: int) -> list[bytes]:
    """The leaf hashes of seq 1..size."""
    rows = store.conn.execute("SELECT leaf FROM events WHERE seq <= ? ORDER BY seq", (size,))
    return [bytes.fromhex(r[0]) for r in rows]


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_checkpoint(
    store: Store,
    directory: Path,
    sign: Callable[[dict[str, Any]], bytes] | None = None,
) -> dict[str, Any]:
    """Write `.cockpit/checkpoints/NNNNNNNN.json` for the chain as it stands (and, given
    `sign`, the signed note it returns for the document as `NNNNNNNN.note`), then append
    `checkpoint_created`. Returns the checkpoint document (with `note`, its path, when
    signed)."""
    directory.mkdir(parents=True, exist_ok=True)
    with store.transaction():
        size = store.head_seq()
        head = store.conn.execute("SELECT chain FROM events WHERE seq = ?", (size,)).fetchone()
        hashes = leaves(store, size)
        document = {
            "size": size,
            "head": head[0] if head else None,
            "merkle_root": merkle.root(hashes).hex(),
            "ts": store.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        since = max(
            (int(c["size"]) for c in checkpoints(directory) if "problem" not in c),
            default=0,
        )
        since = since if since <= size else 0
        kept = {
            "leaves_from": since,
            "leaves": base64.b64encode(b"".join(hashes[since:])).decode("ascii"),
        }
        signed = sign(document) if sign is not None else None
        path = directory / f"{size:08d}.json"
        text = json.dumps({**document, **kept}, indent=2) + "\n"
        _write_atomically(path, text.encode("utf-8"))
        recorded: dict[str, Any] = {**document, "file": path.name}
        out: dict[str, Any] = {**document, "file": str(path)}
        if signed is not None:
            note = path.with_suffix(".note")
            _write_atomically(note, signed)
            recorded["note"], out["note"] = note.name, str(note)
        # The event records the checkpoint, not its leaves (the chain has those).
        store.append(NewEvent(EventType.CHECKPOINT_CREATED, None, None, None, recorded))
    return out


def notes(directory: Path) -> list[Path]:
    """The signed notes beside the checkpoints, by name (the size, zero-padded)."""
    return sorted(directory.glob("*.note")) if directory.is_dir() else []


def _kept_leaves(cp: dict[str, Any]) -> tuple[int, list[bytes]] | None:
    """`(leaves_from, leaves)` of a checkpoint document, if it keeps them well-formed."""
    since, kept, size = cp.get("leaves_from"), cp.get("leaves"), cp.get("size")
    if not isinstance(size, int) or not isinstance(since, int) or not isinstance(kept, str):
        return None
    if not 0 <= since <= size:
        return None
    try:
        raw = base64.b64decode(kept, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 32 * (size - since):
        return None
    return since, [raw[i : i + 32] for i in range(0, len(raw), 32)]


def _first_difference(ours: Sequence[bytes], theirs: Sequence[bytes]) -> int | None:
    for index, (mine, recorded) in enumerate(zip(ours, theirs, strict=False)):
        if mine != recorded:
            return index + 1
    return None


def first_differing_leaf(store: Store, cp: dict[str, Any]) -> int | None:
    """The first seq whose leaf differs from the checkpoint's tree, if the checkpoint keeps
    its leaves and they are its own (with the log's leaves before them they give its
    Merkle root); None if it cannot tell."""
    kept = _kept_leaves(cp)
    if kept is None:
        return None
    since, theirs = kept
    ours = leaves(store, int(cp["size"]))
    if merkle.root(ours[:since] + theirs).hex() != cp.get("merkle_root"):
        return None  # the kept leaves are not the tree's, or the prefix was changed too
    return _first_difference(ours, ours[:since] + theirs)


def first_leaf_differing_from_root(
    store: Store, size: int, root_hex: str, documents: Sequence[dict[str, Any]]
) -> int | None:
    """The first seq whose leaf differs from the tree of `size` leaves with root `root_hex`
    (a signed note's), using the leaves checkpoint documents keep: those of consecutive
    checkpoints from seq 1, or one checkpoint of that size with the log's own leaves before
    its own. Leaves count only if they give that root; None if none do."""
    ours = leaves(store, size)
    candidates: list[list[bytes]] = []
    chained: list[bytes] = []
    for cp in sorted(documents, key=lambda d: int(d.get("size") or 0)):
        kept = _kept_leaves(cp)
        if kept is not None and kept[0] == len(chained) and int(cp["size"]) <= size:
            chained += kept[1]
            if len(chained) == size:
                candidates.append(chained)
                break
    for cp in documents:
        kept = _kept_leaves(cp)
        if kept is not None and cp.get("size") == size:
            candidates.append(ours[: kept[0]] + kept[1])
    for candidate in candidates:
        if len(candidate) == size and merkle.root(candidate).hex() == root_hex:
            return _first_difference(ours, candidate)
    return None


def hold_root(
    store: Store,
    report: ChainReport,
    size: int,
    root_hex: str,
    name: str,
    documents: Sequence[dict[str, Any]] = (),
) -> ChainReport:
    """Hold an intact chain against a signed tree (`size` leaves, Merkle root `root_hex`,
    called `name` in reasons): a shorter log was truncated; another root means history was
    rewritten, named at the first differing seq when `documents` keep the signed leaves,
    else as the whole range."""
    if not report.ok:
        return report
    if report.events < size:
        return ChainReport(
            False,
            report.events,
            report.events + 1,
            f"the log ends at seq {report.events} but {name} records {size} events (truncated)",
        )
    if merkle.root(leaves(store, size)).hex() == root_hex:
        return report
    first = first_leaf_differing_from_root(store, size, root_hex, documents)
    if first is not None:
        return ChainReport(
            False,
            report.events,
            first,
            f"event seq {first} differs from {name} (its leaf is not the one the signed tree "
            "holds: history was rewritten from there)",
        )
    return ChainReport(
        False, report.events, 1, f"history between seq 1 and {size} differs from {name}"
    )


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
        root = merkle.root(leaves(store, size)).hex()
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
