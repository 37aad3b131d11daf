"""The audit chain's hashing and verification (SPEC 7), as pure functions over rows.

leaf_i  = SHA256(0x00 || canonical_json(event_i))
chain_i = SHA256(0x02 || chain_{i-1} || leaf_i), chain_0 = 32 zero bytes
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EVENT_FIELDS = (
    "seq",
    "event_id",
    "parent_seq",
    "ts",
    "type",
    "work_package",
    "principal",
    "entry_id",
    "payload",
)
GENESIS = bytes(32)


def _reject_floats(value: Any, where: str = "payload") -> None:
    if isinstance(value, float):
        raise TypeError(f"{where} holds a float; events carry integers and strings only")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _reject_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_floats(item, f"{where}[{index}]")


def canonical_json(value: Any) -> bytes:
    """SPEC 7's canonical form: sorted keys, no spaces, UTF-8, no floats."""
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_object(row: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """The hashed event object: exactly the SPEC 7 fields, `payload` as a JSON object."""
    event = {name: row[name] for name in EVENT_FIELDS if name != "payload"}
    event["payload"] = payload
    return event


def leaf_hash(event: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_json(dict(event))).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x02" + previous + leaf).digest()


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: the `audit verify --json` document."""

    ok: bool
    events: int
    first_bad_seq: int | None
    reason: str | None
    head: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Recompute every leaf and chain link over rows read in `seq` order.

    Each row holds the event fields (payload as stored text) plus the stored `leaf` and
    `chain` hex. Returns the first bad seq and why: a gap, a payload that is not the
    canonical JSON it was written as, a leaf or chain link that does not recompute, or a
    parent_seq that is not the previous event of the same work package.
    """
    previous = GENESIS
    last_of_wp: dict[str, int] = {}
    count = 0
    for row in rows:
        expected = count + 1
        seq = row["seq"]
        if seq != expected:
            if isinstance(seq, int) and seq > expected:
                reason = f"event {expected} is missing (the log jumps to {seq})"
            else:
                reason = f"event at position {expected} has seq {seq} (rows out of order)"
            return ChainReport(False, count, expected, reason)
        problem, link = _check_row(row, previous, last_of_wp)
        if problem is not None:
            return ChainReport(False, count, seq, problem)
        if row["work_package"] is not None:
            last_of_wp[row["work_package"]] = seq
        previous = link
        count += 1
    return ChainReport(True, count, None, None, previous.hex() if count else None)


class _Float(ValueError):
    pass


def _no_float(text: str) -> Any:
    raise _Float(text)


# The hashed event's keys in canonical (sorted) order, the payload among them.
_SORTED_FIELDS = tuple(sorted(EVENT_FIELDS))


def leaf_of_stored(row: Mapping[str, Any], payload_text: str) -> bytes:
    """`leaf_hash` of a stored event whose payload text is already canonical JSON: the
    event's canonical bytes are composed around that text instead of serialising the
    payload again (the verifier's hot path; equal to `leaf_hash` by construction)."""
    parts = []
    for name in _SORTED_FIELDS:
        value = payload_text if name == "payload" else _scalar(row[name])
        parts.append(f'"{name}":{value}')
    data = ("{" + ",".join(parts) + "}").encode()
    return hashlib.sha256(b"\x00" + data).digest()


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        raise TypeError("an event field holds a float")
    return json.dumps(value, ensure_ascii=False)


def _check_row(
    row: Mapping[str, Any], previous: bytes, last_of_wp: Mapping[str, int]
) -> tuple[str | None, bytes]:
    """(what is wrong with this row or None, its recomputed chain link)."""
    text = row["payload"]
    try:
        # A float anywhere is refused while parsing (no second walk over the payload).
        payload = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except _Float:
        return "payload holds a float; events carry integers and strings only", previous
    except (TypeError, ValueError, RecursionError):
        return "payload is not valid JSON", previous
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical != text:
        return "payload is not in the canonical form it was written in", previous
    try:
        leaf = leaf_of_stored(row, text)
    except TypeError as exc:
        return str(exc), previous
    if leaf.hex() != row["leaf"]:
        return "event content does not match its leaf hash", previous
    link = chain_hash(previous, leaf)
    if link.hex() != row["chain"]:
        return "chain link does not follow from the previous event", previous
    wp = row["work_package"]
    if row["parent_seq"] != (last_of_wp.get(wp) if wp is not None else None):
        return f"parent_seq does not name the previous event of {wp or 'no work package'}", previous
    return None, link
