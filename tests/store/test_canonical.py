"""The canonical text Store.append composes from separately serialised members is, byte
for byte, what json.dumps writes for the whole payload (SPEC 7's canonical form)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.store.canonical import (
    canonical_members,
    canonical_text,
    compose,
    compose_without,
    parse_back,
)

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
payloads = st.dictionaries(st.text(max_size=10), values, max_size=8)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=400)
@given(payloads, st.none() | values)
def test_composed_text_is_what_json_dumps_writes(payload: dict[str, Any], signature: Any) -> None:
    members = canonical_members(payload)
    assert members is not None
    assert compose(members) == dumps(payload)
    unsigned = {k: v for k, v in payload.items() if k != "signature"}
    assert compose(members, leave_out="signature") == dumps(unsigned)
    assert compose_without(members, "signature") == (dumps(unsigned), dumps(payload))
    members["signature"] = canonical_members({"s": signature})["s"]  # type: ignore[index]
    assert compose(members) == dumps({**payload, "signature": signature})
    signed = dumps({**payload, "signature": signature})
    assert compose_without(members, "signature") == (dumps(unsigned), signed)


def test_a_key_that_is_not_a_string_is_left_to_json_dumps() -> None:
    assert canonical_members({1: "a"}) is None  # type: ignore[dict-item]


def test_a_float_is_named_where_it_is() -> None:
    payload = {"entry": {"body": {"n": 1.5}}}
    members = canonical_members(payload)
    assert members is not None
    with pytest.raises(TypeError, match=r"payload\.entry\.body\.n holds a float"):
        parse_back(compose(members), payload)
    with pytest.raises(TypeError, match="holds a float"):
        canonical_text({"x": float("nan")})


def test_parsed_back_is_a_copy() -> None:
    payload = {"refs": ["a"], "body": {"k": (1, 2)}}
    text, stored = canonical_text(payload)
    assert stored == {"refs": ["a"], "body": {"k": [1, 2]}}
    stored["refs"].append("b")
    assert payload["refs"] == ["a"]
    assert text == dumps(payload)
