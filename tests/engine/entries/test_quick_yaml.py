"""The quick YAML path (libyaml and a plain-data walk) against the strict loader (issue 13).

Whatever the strict loader reads, the quick path reads to the same value; whatever the
quick path declines or fails on, the strict loader decides, with its own refusal and
message. libyaml is a little more lenient than the strict loader on some malformed texts
(a block scalar header followed by `#`, say): there the quick path may read plain data
where the strict loader says parse error, and never anything but plain data
(docs/decisions.md)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.entries import safe_yaml
from cockpit.engine.entries.safe_yaml import UnsafeYaml, YamlSyntaxError, load_yaml

pytestmark = pytest.mark.skipif(
    safe_yaml._FastLoader is None, reason="PyYAML was built without libyaml"
)


def strict(text: str) -> Any:
    return safe_yaml.strict_load(text)


def outcome(fn: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", fn(text)
    except (UnsafeYaml, YamlSyntaxError) as exc:
        return type(exc).__name__, str(exc)
    except yaml.YAMLError as exc:
        return "YAMLError", type(exc).__name__


# Texts where YAML 1.1's implicit typing, tags and structure are easy to get wrong.
TRICKY = [
    "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: true",
    "a: 0x1F\nb: 0o17\nc: 017\nd: 1_000\ne: 1:30\nf: -0\ng: +12\nh: 0b101",
    "a: .inf\nb: -.Inf\nc: .nan\nd: 1.5\ne: 1e3\nf: 6.8523015e+5",
    "a: ~\nb: null\nc:\nd: Null",
    "created: 2026-11-21T10:00:00Z\nday: 2026-11-21",
    "a: !!str 12\nb: !!int '7'\nc: !!binary aGVsbG8=",
    "a: !!python/object:os.system ls",
    "a: !custom x",
    "<<: {a: 1}\nb: 2",
    "a: 1\na: 2",
    "? [a, b]\n: c",
    "? {a: 1}\n: c",
    "---\na: 1\n---\nb: 2",
    "",
    "# only a comment\n",
    "a:\n\t- b",
    "a: 'it''s'\nb: \"tab\\there\\u00e9\"\nc: |\n  two\n  lines\nd: >\n  folded\n  text",
    "list:\n  - 1\n  - [2, 3]\n  - {k: v}\n  -\n  - - nested",
    "a: b: c",
    "a: [1, 2",
    "key with spaces: value with: colon",
    "1: int key\n2.5: float key\ntrue: bool key\n~: null key",
    'a: "\\ud800"',
    "a: \x07bell",
    "\ufeffa: bom",
    "%YAML 1.1\n---\na: 1",
    "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1",
    "a: " + "[" * 50 + "]" * 50,
]


def agrees(text: str) -> None:
    quick, reference = outcome(load_yaml, text), outcome(strict, text)
    if reference[0] == "value" or quick[0] != "value":
        assert quick == reference
    else:  # libyaml's leniency: plain data only
        assert plain(quick[1]), quick


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


@pytest.mark.parametrize("text", TRICKY)
def test_the_quick_path_agrees_with_the_strict_loader(text: str) -> None:
    assert outcome(load_yaml, text) == outcome(strict, text)


def test_a_text_with_an_anchor_or_alias_never_takes_the_quick_path() -> None:
    with pytest.raises(UnsafeYaml, match="anchor &x"):
        load_yaml("a: &x 1\nb: 2")
    with pytest.raises(UnsafeYaml, match="alias"):
        load_yaml("a: 1\nb: *x")


def test_the_quick_path_is_taken_for_plain_data() -> None:
    """The quick walk alone builds an ordinary entry (so the speed is real, not a fallback)."""
    text = "kind: work_package\nid: WP-1\nbody:\n  title: t\n  labels: [a, b]\n  n: 3\n"
    assert safe_yaml._quick(text) == strict(text)


scalars = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.sampled_from(["yes", "no", "on", "off", "0x1F", "017", "1:30", "~", "2026-11-21", ".inf"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(documents, st.sampled_from([None, True, False]), st.booleans())
def test_any_dumped_document_loads_the_same_both_ways(
    value: Any, flow: bool | None, quote: bool
) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=quote)
    assert outcome(load_yaml, text) == outcome(strict, text)  # valid YAML: exactly the same


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{},?'\"#|>!%@`\n\t 01yn.~\\")), max_size=40))
def test_any_text_loads_or_fails_the_same_both_ways(text: str) -> None:
    agrees(text)
