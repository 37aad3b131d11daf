"""The audit chain's hashing and verification (SPEC 7), as pure functions over rows.

leaf_i  = SHA256(0x00 || canonical_json(event_i))
chain_i = SHA256(0x02 || chain_{i-1} || leaf_i), chain_0 = 32 zero bytes

The verifier walks rows in seq order (`ChainWalk`). A row is accepted on a fast path: its
leaf composed around the stored payload text, which `CanonicalShapes` proves canonical
without parsing it. Whatever the fast path does not accept is checked again the slow way
(parse, serialise, compare), which names what is wrong; so the fast path can only be
faster, never say something else.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes a str as
from operator import itemgetter
from typing import Any

from cockpit.store.canonical import NO_FLOATS, _Float, canonical_json

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
# A stored row's columns, in the order the verifier reads them.
ROW_COLUMNS = (*EVENT_FIELDS, "leaf", "chain")
TEXT_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("seq", "parent_seq"))
# Stands in for a stored text that is not UTF-8: it can never match a recomputed hash.
UNDECODABLE = "\ufffd<not UTF-8>"


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
    walk = ChainWalk()
    walk.walk(tuple(row[name] for name in ROW_COLUMNS) for row in rows)
    return walk.report()


class ChainWalk:
    """A walk along the chain in seq order, fed rows (tuples in ROW_COLUMNS order) in as
    many calls as the caller likes: `verify_chain` as state, so a store can feed it batch
    by batch and a walk can start part-way, `count` rows already verified and `previous`
    the chain link of the last of them.

    With `decode`, BLOB values of text columns are decoded as UTF-8 (UNDECODABLE if they
    are not). With `defer_parents`, a row whose work package has no event yet in this walk
    is not held to a parent_seq here: it is listed in `deferred` as (seq, work package,
    parent_seq) for whoever walked the rows before it (`parent_problem`)."""

    def __init__(
        self,
        *,
        count: int = 0,
        previous: bytes = GENESIS,
        decode: bool = False,
        defer_parents: bool = False,
    ) -> None:
        self.count = count
        self.previous = previous
        self.last_of_wp: dict[Any, int] = {}
        # (first bad seq, why), once a row is bad; the walk stops there.
        self.finding: tuple[int, str] | None = None
        self.deferred: list[tuple[int, Any, Any]] | None = [] if defer_parents else None
        self.decode = decode
        self.shapes = CanonicalShapes()
        self.slow = 0  # rows checked the slow way

    def report(self) -> ChainReport:
        if self.finding is not None:
            return ChainReport(False, self.count, *self.finding)
        return ChainReport(
            True, self.count, None, None, self.previous.hex() if self.count else None
        )

    def parent_problem(self, wp: Any, parent: Any) -> str | None:
        """Why a deferred row's parent_seq is wrong, following the rows this walk covered."""
        if parent != self.last_of_wp.get(wp):
            return _parent_problem(wp)
        return None

    def walk(self, rows: Iterable[Sequence[Any]]) -> bool:
        """Verify `rows`, the next ones in seq order; False once a row is bad."""
        if self.finding is not None:
            return False
        count, previous, last_of_wp = self.count, self.previous, self.last_of_wp
        deferred = self.deferred
        proven, sha256, quote = self.shapes.proven, hashlib.sha256, encode_basestring
        try:
            for row in rows:
                seq, event_id, parent, ts, kind, wp, principal, entry_id, text, leaf, chain = row
                if seq != count + 1:
                    self.finding = (count + 1, _position_problem(seq, count + 1))
                    return False
                link = body = None
                # The fast path: the payload text proven canonical JSON by its shape, the
                # bytes hashed for the leaf composed around it (every field of the type the
                # store writes), the leaf and the chain link as stored.
                if (
                    type(seq) is int
                    and type(text) is str
                    and (parent is None or type(parent) is int)
                ):
                    try:
                        body = text.encode()
                        head = (
                            '\x00{"entry_id":'
                            f"{'null' if entry_id is None else quote(entry_id)},"
                            f'"event_id":{quote(event_id)},'
                            f'"parent_seq":{"null" if parent is None else parent},"payload":'
                        ).encode()
                        tail = (
                            f',"principal":{"null" if principal is None else quote(principal)},'
                            f'"seq":{seq},"ts":{quote(ts)},"type":{quote(kind)},'
                            f'"work_package":{"null" if wp is None else quote(wp)}}}'
                        ).encode()
                    except (TypeError, UnicodeEncodeError):
                        # A BLOB or NULL where text is stored; a lone surrogate (not from SQLite).
                        body = None
                    else:
                        # No canonical JSON holds a control character.
                        if len(body.translate(None, _CONTROL)) == len(body) and proven(body):
                            digest = sha256(head + body + tail).digest()
                            if digest.hex() == leaf:
                                link = sha256(b"\x02" + previous + digest).digest()
                                if link.hex() != chain:
                                    link = None
                if link is None:
                    # The slow path names what is wrong, if anything is.
                    self.slow += 1
                    fields = dict(zip(ROW_COLUMNS, row, strict=True))
                    if self.decode:
                        _decode_texts(fields)
                    problem, link = _check_content(fields, previous)
                    if problem is not None:
                        self.finding = (seq, problem)
                        return False
                    if body is not None:  # the slow path just found it canonical
                        self.shapes.learn(body)
                    wp, parent = fields["work_package"], fields["parent_seq"]
                if wp is None:
                    if parent is not None:
                        self.finding = (seq, _parent_problem(wp))
                        return False
                else:
                    if wp in last_of_wp:
                        if parent != last_of_wp[wp]:
                            self.finding = (seq, _parent_problem(wp))
                            return False
                    elif deferred is not None:
                        deferred.append((seq, wp, parent))
                    elif parent is not None:
                        self.finding = (seq, _parent_problem(wp))
                        return False
                    last_of_wp[wp] = seq
                previous = link
                count += 1
            return True
        finally:
            self.count, self.previous = count, previous


def _position_problem(seq: Any, expected: int) -> str:
    if isinstance(seq, int) and seq > expected:
        return f"event {expected} is missing (the log jumps to {seq})"
    return f"event at position {expected} has seq {seq} (rows out of order)"


def _parent_problem(wp: Any) -> str:
    return f"parent_seq does not name the previous event of {wp or 'no work package'}"


def _decode_texts(fields: dict[str, Any]) -> None:
    for column in TEXT_COLUMNS:
        value = fields[column]
        if isinstance(value, bytes):
            try:
                fields[column] = value.decode("utf-8")
            except UnicodeDecodeError:
                fields[column] = UNDECODABLE


# The hashed event's keys in canonical (sorted) order, the payload among them.
_SORTED_FIELDS = tuple(sorted(EVENT_FIELDS))


def event_bytes(row: Mapping[str, Any], payload_text: str) -> bytes:
    """`canonical_json` of the event whose payload text is already canonical JSON: its
    bytes composed around that text instead of serialising the payload again (what the
    runner signs, and what the leaf hashes)."""
    parts = []
    for name in _SORTED_FIELDS:
        value = payload_text if name == "payload" else _scalar(row[name])
        parts.append(f'"{name}":{value}')
    return ("{" + ",".join(parts) + "}").encode()


def leaf_of_stored(row: Mapping[str, Any], payload_text: str) -> bytes:
    """`leaf_hash` of a stored event whose payload text is already canonical JSON
    (Store.append's and the verifier's slow path; equal to `leaf_hash` by construction)."""
    return hashlib.sha256(b"\x00" + event_bytes(row, payload_text)).digest()


def _scalar(value: Any) -> str:
    # The common types first, written as json.dumps writes them.
    if type(value) is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    if isinstance(value, float):
        raise TypeError("an event field holds a float")
    return json.dumps(value, ensure_ascii=False)


def _check_content(row: Mapping[str, Any], previous: bytes) -> tuple[str | None, bytes]:
    """(what is wrong with this row's content or None, its recomputed chain link): its
    payload, leaf and chain link, in that order (the parent_seq is the walk's to check)."""
    text = row["payload"]
    try:
        # A float anywhere is refused while parsing (no second walk over the payload).
        payload = NO_FLOATS.decode(text)
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
    return None, link


# -- canonical payloads by shape -------------------------------------------------------------

_CONTROL = bytes(range(0x20))
_DIGITS = bytes.maketrans(b"123456789", b"111111111")
# A backslash that does not start a newline escape; one that starts no escape json.dumps
# writes: \b \f \n \r \t, or \u00XX (lowercase) for a control character without those.
_escape_not_newline = re.compile(rb"\\(?!n)").search
_escape_not_dumps = re.compile(rb"\\(?![bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]))").search


class CanonicalShapes:
    """Proves JSON text canonical without parsing it, when it has the shape of a text
    already proven canonical the slow way (`learn`). Texts are UTF-8 bytes with no control
    character (the caller checks: canonical JSON holds none).

    A shape is the text outside its strings, with each digit 1-9 read as 1, and the object
    keys. Two texts of one shape whose strings are all escaped as json.dumps escapes them
    parse to the same structure, keys and integer forms, and differ only in string values
    that json.dumps writes back as they are: one is canonical iff the other is. A text with
    an escape json.dumps does not write, or a character it would escape, has no shape and
    is always checked the slow way."""

    def __init__(self, limit: int = 4096) -> None:
        # skeleton -> (where its keys are among the parts, the key lists proven with it)
        self._known: dict[bytes, tuple[Callable[[list[bytes]], Any], list[Any]]] = {}
        self._limit = limit

    def proven(self, data: bytes) -> bool:
        """True if `data` is proven canonical JSON; False if it is not known to be."""
        shape = _shape(data)
        if shape is None:
            return False
        skeleton, parts = shape
        known = self._known.get(skeleton)
        return known is not None and known[0](parts) in known[1]

    def learn(self, data: bytes) -> None:
        """Remember the shape of `data`, which the caller found canonical the slow way."""
        shape = _shape(data)
        if shape is None:
            return
        skeleton, parts = shape
        known = self._known.get(skeleton)
        if known is None:
            if len(self._known) >= self._limit:  # a bounded memory of shapes
                self._known.clear()
            # A string followed by ':' is a key (parts alternate: outside, string, ...).
            at = [i for i in range(1, len(parts) - 1, 2) if parts[i + 1].startswith(b":")]
            known = self._known[skeleton] = (itemgetter(*at) if at else _no_keys, [])
        keys_at, key_lists = known
        if len(key_lists) >= 16:  # a skeleton seen with many keys: its newest ones
            del key_lists[0]
        key_lists.append(keys_at(parts))


def canonical_by_shape(shapes: CanonicalShapes, text: str) -> bool:
    """True if `shapes` prove `text` canonical JSON (the walk's test, for one text)."""
    data = text.encode()
    return len(data.translate(None, _CONTROL)) == len(data) and shapes.proven(data)


def _no_keys(parts: list[bytes]) -> tuple[()]:
    return ()


def _shape(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(the text outside strings, digits 1-9 as 1; the text split at its quotes), if every
    string in `data` is escaped as json.dumps escapes it; else None."""
    if _escape_not_newline(data):
        # Escaped backslashes and quotes become pairs of control characters (the text
        # has none), so that every quote left is where a string begins or ends.
        data = data.replace(b"\\\\", b"\x01\x01").replace(b'\\"', b"\x02\x02")
        if _escape_not_dumps(data):
            return None
    parts = data.split(b'"')
    if not len(parts) % 2:
        return None
    return b'"'.join(parts[::2]).translate(_DIGITS), parts


def event_id(previous_chain: bytes, seq: int, payload_text: str) -> str:
    """A UUID-shaped id derived from the chain position, so the same history always has
    the same ids (replays and tests are reproducible) and no two events share one."""
    digest = hashlib.sha256(previous_chain + str(seq).encode() + payload_text.encode()).digest()
    # str(uuid.UUID(bytes=digest[:16], version=4)), written out: the version and variant
    # bits set, then the hex in its 8-4-4-4-12 groups.
    h = (
        (int.from_bytes(digest[:16]) & ~(0xF000 << 64) & ~(0xC000 << 48))
        | (0x4000 << 64)
        | (0x8000 << 48)
    )
    x = f"{h:032x}"
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"
