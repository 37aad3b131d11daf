"""The line-by-line reading of the plainest YAML (safe_yaml._plainest, issue 13) against the
strict loader: whatever it reads, the strict loader reads to the same value, types and all;
whatever else it meets, it declines, and a parser decides."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cockpit.engine.entries import safe_yaml
from cockpit.engine.entries.safe_yaml import load_yaml, strict_load


def typed(value: Any) -> Any:
    """`value` with every scalar's type beside it (True == 1 in Python; not here)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def plainest(text: str) -> Any:
    """What the line-by-line reading gives, or DECLINED."""
    try:
        return typed(safe_yaml._plainest(text))
    except safe_yaml._Declined:
        return DECLINED


DECLINED = object()


def reads_the_same(text: str) -> bool:
    """False if the line-by-line reading read the text but the strict loader reads it
    otherwise or refuses it; True if they agree, or if it declined. Returns whether it
    read the text."""
    quick = plainest(text)
    if quick is DECLINED:
        return False
    assert quick == typed(strict_load(text)), text
    assert typed(load_yaml(text)) == quick
    return True


ENTRY = """\
schema: cockpit.entry/v1
kind: claim
id: CLAIM-7
work_package: WP-7
principal: agent:implementer-1
created: 2026-11-21T10:00:00Z
refs:
- CG-7
body:
  done_state: done
  evidence:
    - EV-7@sha256:0123abcd
  owner: agent:implementer-1   # trailing comment-free spaces
  accountable: human:owner
  summary: Fixed the parser's edge case (see ./docs/x.md) at 100% - don't worry
  unresolved_questions:
  cost: 3
  draft: no
"""


def test_an_ordinary_entry_is_read_line_by_line() -> None:
    """The common entry is read without a parser (so the speed is real, not a fallback)."""
    text = ENTRY.replace("   # trailing comment-free spaces", "   ")
    assert reads_the_same(text)
    value = safe_yaml._plainest(text)
    assert value["body"]["draft"] is False and value["body"]["cost"] == 3
    assert value["body"]["unresolved_questions"] is None
    assert value["refs"] == ["CG-7"]


DECLINED_TEXTS = [
    ENTRY,  # `#` after a value: a comment YAML drops, declined here
    "a: 'quoted'",
    'a: "quoted"',
    "a: [1, 2]",
    "a: {b: 1}",
    "a: |\n  block",
    "a: >\n  folded",
    "a: first line\n  runs on",
    "on: 1",  # a key YAML types as a boolean
    "null: 1",
    "a: 1\na: 2",  # a duplicate key: the strict loader names it
    "a: b: c",
    "a: b:",
    "  a: 1",  # the text opens indented
    "a:\n  b: 1\n c: 2",  # an indent that matches no open block
    "a: 1\n  b: 2",
    "a:\n  - x\n  b: 1",
    "a:\n  - x\n    y",
    "a: caf\u00e9",  # non-ASCII
    "a: b\u2028c: d",  # a YAML line break that is not \n
    "a: b\r\nc: d",
    "a: \x7f",
    "---\na: 1",
    "a: -1",  # a value opening with `-`
    "a: =",  # YAML 1.1's value tag
    "a: @x",
    "a: %x",
    "a: ?x",
    "a: :x",
    "a: ~x\nb: [",
    "",
    "# a comment alone\n",
    "a:\n-\n",
]


@pytest.mark.parametrize("text", DECLINED_TEXTS)
def test_what_is_not_of_the_plainest_kind_is_declined(text: str) -> None:
    assert plainest(text) is DECLINED
    try:
        expected: Any = ("value", typed(strict_load(text)))
    except ValueError as exc:  # the strict loader's refusal stays the answer
        expected = ("error", str(exc))
    try:
        got: Any = ("value", typed(load_yaml(text)))
    except ValueError as exc:
        got = ("error", str(exc))
    if expected[0] == "error":
        assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: true",
        "a: 0x1F\nb: 017\nc: 1_000\nd: 1:30\ne: +12\nf: 0b101\ng: 0",
        "a: .inf\nb: .nan\nc: 1.5\nd: 1e3\ne: 6.8523015e+5",
        "a: ~\nb: null\nc:\nd: Null",
        "created: 2026-11-21T10:00:00Z\nday: 2026-11-21",
        "a:\n- x\n- y\nb: 1",
        "a:\n  - x\nb:",
        'a: x\'y\nb: say "hi"\nc: (1) 50% $5 +x =y',
        "a: b  \nc:   d",
        "a:\n\n  # comment\n  b: 1\n\n",
        "- a\n- b",  # a list at the top
    ],
)
def test_what_it_reads_is_what_the_strict_loader_reads(text: str) -> None:
    assert reads_the_same(text)


KEYS = ["a", "b", "key", "on", "yes", "No", "null", "y", "true", "a-b", "_x", "x1"]
VALUES = [
    "x",
    "a b",
    "yes",
    "no",
    "off",
    "~",
    "null",
    "0",
    "017",
    "0x1f",
    "1_0",
    "1:30",
    "+1",
    ".5",
    ".inf",
    "1e5",
    "1.0",
    "2026-11-21",
    "a:b",
    "a: b",
    "b:",
    "x'y",
    "(x)",
    "$x",
    "=",
    "~x",
    "/p",
    "./p",
    "x #c",
    "x#c",
]
ALPHABET = list("ab01:-#'\"()[]{},.~=+$@%?|>!&* \\\u00e9")


@st.composite
def line(draw: Any) -> str:
    indent = " " * draw(st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4]))
    value = draw(st.one_of(st.sampled_from(VALUES), st.text(ALPHABET, max_size=6)))
    trailing = draw(st.sampled_from(["", "", " ", "  "]))
    kind = draw(st.sampled_from(["key_value", "key_value", "key", "item", "comment", "blank"]))
    key = draw(st.one_of(st.sampled_from(KEYS), st.text(ALPHABET, min_size=1, max_size=3)))
    if kind == "key_value":
        return f"{indent}{key}:{draw(st.sampled_from([' ', '  ', '']))}{value}{trailing}"
    if kind == "key":
        return f"{indent}{key}:{trailing}"
    if kind == "item":
        return f"{indent}-{draw(st.sampled_from([' ', '  ', '']))}{value}{trailing}"
    if kind == "comment":
        return f"{indent}# {value}"
    return trailing


@settings(max_examples=1500, deadline=None)
@given(st.lists(line(), min_size=1, max_size=8), st.booleans())
@example(["a:", "- x", "b: 1"], True)
@example(["a:", "  - x", "  b: 1"], False)
@example(["a:", "  b:", "    - 1", "  c: 2"], True)
def test_any_text_of_such_lines_reads_the_same_or_is_declined(
    lines: list[str], final_newline: bool
) -> None:
    reads_the_same("\n".join(lines) + ("\n" if final_newline else ""))


SAFE_KEYS = ["a", "b", "key", "work_package", "x-1", "_y"]
SAFE_VALUES = [v for v in VALUES if v not in ("a: b", "b:", "=") and "#" not in v]
documents = st.recursive(
    st.sampled_from(SAFE_VALUES),
    lambda children: st.one_of(
        st.lists(st.sampled_from(SAFE_VALUES), min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(SAFE_KEYS), children, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


def block_text(value: dict[str, Any], indent: int = 0, inline_lists: bool = False) -> str:
    """`value` written as block YAML, a line per key and per list item."""
    out = []
    for key, item in value.items():
        pad = " " * indent
        if isinstance(item, dict):
            out.append(f"{pad}{key}:\n" + block_text(item, indent + 2, inline_lists))
        elif isinstance(item, list):
            at = pad if inline_lists else pad + "  "
            out.append(f"{pad}{key}:\n" + "".join(f"{at}- {v}\n" for v in item))
        else:
            out.append(f"{pad}{key}: {item}\n")
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(SAFE_KEYS), documents, min_size=1, max_size=4), st.booleans()
)
def test_any_block_document_of_plain_values_is_read(value: dict[str, Any], inline: bool) -> None:
    """Every document of plain keys and values written in block style is read line by line
    (not declined), to what the strict loader reads."""
    assert reads_the_same(block_text(value, inline_lists=inline))


@pytest.mark.parametrize(
    "text",
    [
        "n: 0x_",  # the int resolver takes it; building it fails
        "n: 0b_",
        "n: " + "9" * 5000,  # past Python's limit on an integer's digits
        "k" * 130 + ": 1",  # a key longer than read here
    ],
)
def test_a_value_that_cannot_be_built_is_declined_and_refused_as_before(text: str) -> None:
    """Found in review: `0x_` passed the resolvers and made int() raise ValueError out of
    load_yaml (a crash where the strict loader says what is wrong)."""
    assert plainest(text) is DECLINED
    try:
        expected: Any = ("value", typed(strict_load(text)))
    except ValueError as exc:
        expected = ("error", type(exc).__name__, str(exc))
    try:
        got: Any = ("value", typed(load_yaml(text)))
    except ValueError as exc:
        got = ("error", type(exc).__name__, str(exc))
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "title: hello" + " " * 1_000_000 + "# a comment\n",
        " " * 1_000_000 + "x\n",
        "a: " + "b " * 500_000 + ":\n",
    ],
)
def test_a_long_line_that_does_not_match_is_declined_at_once(text: str) -> None:
    """Found in review: the line pattern backtracked over runs of spaces (a 64k-space line
    took 8 s, a 1 MiB one about half an hour); every repetition is possessive now, so such
    a line is declined in one pass (this test would not finish otherwise)."""
    assert plainest(text) is DECLINED
