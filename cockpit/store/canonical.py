"""SPEC 7's canonical JSON (sorted keys, no spaces, UTF-8, no floats), written the way
`Store.append` needs it: once, in C, and for a payload with a signature the text without
it and the text with it both composed from the same serialised members."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from json import encoder as json_encoder
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes a str as
from typing import Any


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


class _Float(ValueError):
    pass


def _no_float(text: str) -> Any:
    raise _Float(text)


# json.loads with these hooks, its decoder made once (json.loads makes one per call when
# given hooks): a float, NaN or infinity raises _Float.
NO_FLOATS = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)


def parse_back(text: str, value: Any) -> Any:
    """A fresh copy of `value` parsed back from `text`, its canonical JSON; a float (or
    NaN) is caught while parsing, and only then is `value` walked, to say where it is
    (TypeError)."""
    try:
        return NO_FLOATS.decode(text)
    except _Float:
        canonical_json(value)  # raises TypeError naming where the float is
        raise


def canonical_text(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(`canonical_json(value)` as text, a fresh copy of `value` parsed back from it)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, parse_back(text, value)


def json_encoder_of(
    *, ensure_ascii: bool, separators: tuple[str, str], sort_keys: bool
) -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=..., separators=..., sort_keys=...)` as a function,
    byte for byte, its C encoder made once instead of per call (what is serialised with it
    holds no cycle: there is no cycle check)."""
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return lambda value: json.dumps(
            value, ensure_ascii=ensure_ascii, separators=separators, sort_keys=sort_keys
        )
    quote = json_encoder.encode_basestring_ascii if ensure_ascii else encode_basestring
    key_sep, item_sep = separators[1], separators[0]
    # markers None (no cycle check), indent None, skipkeys False, allow_nan True (a float
    # in an event is refused when parsed back).
    default = json.JSONEncoder().default
    encode = make(None, default, quote, None, key_sep, item_sep, sort_keys, False, True)
    return lambda value: "".join(encode(value, 0))


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
_canonical = json_encoder_of(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def member_text(value: Any) -> str:
    if type(value) is str:
        return encode_basestring(value)
    return _canonical(value)


def canonical_members(value: Mapping[str, Any]) -> dict[str, str] | None:
    """Each member of an object serialised alone, as `compose` puts them together; None
    if a key is not a string (json.dumps would rewrite it: let it do the whole)."""
    if not all(type(key) is str for key in value):
        return None
    return {key: member_text(item) for key, item in value.items()}


def compose(members: Mapping[str, str], leave_out: str | None = None) -> str:
    """The canonical text of the object whose members are `members` (less `leave_out`):
    byte for byte what json.dumps writes for the whole object."""
    parts = [
        f"{encode_basestring(key)}:{members[key]}" for key in sorted(members) if key != leave_out
    ]
    return "{" + ",".join(parts) + "}"


def compose_without(members: Mapping[str, str], left_out: str) -> tuple[str, str]:
    """(`compose(members, leave_out=left_out)`, `compose(members)`), the members put in
    order and written once for both."""
    keys = sorted(members)
    parts = [f"{encode_basestring(key)}:{members[key]}" for key in keys]
    whole = "{" + ",".join(parts) + "}"
    if left_out not in members:
        return whole, whole
    at = keys.index(left_out)
    return "{" + ",".join(parts[:at] + parts[at + 1 :]) + "}", whole
