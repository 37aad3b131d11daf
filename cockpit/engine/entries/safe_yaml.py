"""A YAML loader for untrusted text: plain data only, no anchors, aliases, tags or
duplicate keys."""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cockpit.errors import InputError


class UnsafeYaml(InputError, ValueError):
    """The document uses a YAML feature refused for untrusted input (anchor, alias, tag)."""


class YamlSyntaxError(InputError, ValueError):
    """The document is not well-formed YAML, or is ambiguous (duplicate keys)."""


# Timestamps stay strings: the entry model checks them as RFC 3339 itself, so an impossible
# date is a clear schema error rather than a crash in the YAML library.
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _StrictLoader(yaml.SafeLoader):
    yaml_implicit_resolvers = _RESOLVERS

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise YamlSyntaxError("a mapping key must be a plain value") from None
            if duplicate:
                raise YamlSyntaxError(
                    f"duplicate key {key!r} (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYaml(f"YAML alias *{event.anchor} is not allowed")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise UnsafeYaml(f"YAML anchor &{anchor} is not allowed")
        return super().compose_node(parent, index)


class _Tagger(yaml.resolver.Resolver):
    yaml_implicit_resolvers = _RESOLVERS


_TAGGER = _Tagger()
assert not _Tagger.yaml_path_resolvers
# The tags of the plain scalar texts met (short ones, a bounded number of them: field names
# and the values entries repeat).
_PLAIN_TAGS: dict[str, str] = {}
_REMEMBERED = 4096
_REMEMBERED_TEXT = 64


def plain_tag(text: str) -> str:
    """The tag YAML's implicit typing gives a plain (unquoted) scalar: the resolvers'
    answer, which depends on the text alone (there are no path resolvers)."""
    tag = _PLAIN_TAGS.get(text)
    if tag is None:
        tag = _TAGGER.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if len(text) <= _REMEMBERED_TEXT:
            if len(_PLAIN_TAGS) >= _REMEMBERED:
                _PLAIN_TAGS.clear()
            _PLAIN_TAGS[text] = tag
    return tag


# libyaml's parser (C) behind the same resolvers: used only for a text that cannot hold an
# anchor, an alias, a tag or a tab (see _SLOW), and only when it parses to plain data
# the quick walk below builds alone; anything else, and every error, goes through the strict
# loader above, whose refusals and messages are the reference.
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CStrictLoader(yaml.CSafeLoader):  # mappings are built by _plain
        yaml_implicit_resolvers = _RESOLVERS

        # libyaml's composer asks these of every node; there are no path resolvers.
        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

        def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
            if kind is ScalarNode and implicit[0]:
                return plain_tag(value)
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call,no-any-return]

    assert not _CStrictLoader.yaml_path_resolvers
    _FastLoader = _CStrictLoader


# An anchor (`&`) or alias (`*`) is refused by the strict loader alone; libyaml reads tabs
# more leniently and tags (`!`) a little differently than the strict loader does, so a text
# with any of these is read by the strict one.
_SLOW = frozenset("&*!\t")
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALARS = {
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
}


class _NotPlain(Exception):
    """The quick walk met something it leaves to the strict loader."""


def _plain(node: Node, loader: Any) -> Any:
    """The value of a composed node of plain data (strings, numbers, booleans, nulls,
    lists and mappings with distinct plain keys), built as SafeConstructor builds it."""
    tag = node.tag
    if isinstance(node, ScalarNode):
        if tag == _STR:
            return node.value
        build = _SCALARS.get(tag)
        if build is None:
            raise _NotPlain
        return build(loader, node)
    if isinstance(node, SequenceNode) and tag == _SEQ:
        return [_plain(item, loader) for item in node.value]
    if isinstance(node, MappingNode) and tag == _MAP:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _NotPlain
            key = _plain(key_node, loader)
            if key in mapping:
                raise _NotPlain  # a duplicate key: the strict loader names it
            mapping[key] = _plain(value_node, loader)
        return mapping
    raise _NotPlain


def _quick(text: str) -> Any:
    """`text` parsed by libyaml and built by the quick walk; raises if either declines."""
    assert _FastLoader is not None
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _plain(node, loader)
    finally:
        loader.dispose()


# -- the plainest YAML, read line by line ------------------------------------------------
#
# Most entries are block mappings and lists of short plain values, one per line. Such a text
# is read here without a parser: a line is a comment, `key: value`, `key:` (a block below,
# or null) or `- value`; a value is a plain scalar of a conservative alphabet, typed by the
# same resolvers. Anything else (quotes or flow collections opening a value, block
# scalars, a value running on to the next line, odd indentation, `#` after a value,
# non-ASCII text, a key YAML would type as anything but a string, a duplicate key) is
# declined, and libyaml or the strict loader reads the text: what this reads, they read the
# same (tests/engine/entries/test_block_yaml.py).

# A plain value: opening with no indicator, of printable ASCII without `#`, flow
# indicators or backslashes (no `: ` in it and no `:` at its end: checked when it is read).
_VALUE = r"[A-Za-z0-9_./(+$=~][A-Za-z0-9_./()+$=~@%?'\" :-]*+"
# One line: `key: value`, `key:`, `- value`, a comment or nothing (and trailing spaces). A
# key of 128 characters at most (YAML allows a simple key 1024). Every repetition is
# possessive: a line that does not match fails at once, whatever its length.
_LINE = re.compile(
    rf"^( *+)(?:([A-Za-z_][A-Za-z0-9_-]{{0,127}}+):(?: ++({_VALUE}))?|- ++({_VALUE})|#.*)? *+$",
    re.M,
)


class _Declined(Exception):
    """The text is not of the plainest kind: a parser reads it."""


def _block_value(text: str) -> Any:
    text = text.rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _Declined
    tag = _PLAIN_TAGS.get(text) or plain_tag(text)
    if tag == _STR:
        return text
    build = _SCALARS.get(tag)
    if build is None:
        raise _Declined
    try:
        value = build(_CONSTRUCTOR, ScalarNode(tag, text))
    except (ValueError, OverflowError):  # `0x_`, an integer of thousands of digits
        raise _Declined from None
    if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
        raise _Declined  # what is read here can be stored (see read_yaml)
    return value


_CONSTRUCTOR = SafeConstructor()
_INT64 = (-(2**63), 2**63 - 1)
_NO_VALUE = object()  # `key:` with nothing after it (a block below, or null)
_Line = tuple[int, bool, str, Any]  # (indent, is an item, key, value or _NO_VALUE)


def _block_lines(text: str) -> list[_Line]:
    if not text.isascii() or "\r" in text or not text.replace("\n", "").isprintable():
        raise _Declined
    found = _LINE.findall(text)
    if len(found) != text.count("\n") + 1:  # a line is of none of the kinds above
        raise _Declined
    lines: list[_Line] = []
    tags = _PLAIN_TAGS
    for indent, key, value, item in found:
        if key:
            if (tags.get(key) or plain_tag(key)) != _STR:
                raise _Declined
            if value:
                # A string remembered as such, in one piece: _block_value's answer, at once.
                text = value.rstrip(" ")
                if tags.get(text) != _STR or ": " in text or text[-1] == ":":
                    text = _block_value(value)
                lines.append((len(indent), False, key, text))
            else:
                lines.append((len(indent), False, key, _NO_VALUE))
        elif item:
            lines.append((len(indent), True, "", _block_value(item)))
    if not lines or lines[0][0] != 0:
        raise _Declined
    return lines


def _block(lines: list[_Line], at: int, indent: int, inline: bool) -> tuple[Any, int]:
    """The mapping or list whose lines start at `at` with this indent (`inline`: a list
    at its mapping key's own indent); returns it and the index of the line after it."""
    end = len(lines)
    items = lines[at][1]
    if items:
        values = []
        while at < end and lines[at][0] == indent and lines[at][1]:
            values.append(lines[at][3])
            at += 1
            if at < end and lines[at][0] > indent:
                raise _Declined  # an item running on, or a block under a plain item
        out: Any = values
    else:
        mapping: dict[str, Any] = {}
        while at < end and lines[at][0] == indent and not lines[at][1]:
            _, _, key, value = lines[at]
            at += 1
            if key in mapping:
                raise _Declined
            below = at < end and (
                lines[at][0] > indent or (lines[at][0] == indent and lines[at][1])
            )
            if value is not _NO_VALUE:
                if below:
                    raise _Declined
                mapping[key] = value
            elif below:
                mapping[key], at = _block(lines, at, lines[at][0], lines[at][0] == indent)
            else:
                mapping[key] = None
        out = mapping
    if at < end and (lines[at][0] > indent or (lines[at][0] == indent and not inline)):
        raise _Declined
    return out, at


def _plainest(text: str) -> Any:
    """`text` read line by line, if it is of the plainest kind; raises _Declined if not."""
    lines = _block_lines(text)
    value, at = _block(lines, 0, 0, False)
    if at != len(lines):
        raise _Declined
    return value


def load_yaml(text: str) -> Any:
    """Parse one YAML document of plain data.

    Raises YamlSyntaxError for malformed or ambiguous YAML and UnsafeYaml for anchors,
    aliases and tags that construct anything but plain data.
    """
    return read_yaml(text)[0]


def read_yaml(text: str) -> tuple[Any, bool]:
    """`load_yaml(text)`, and whether the store can keep every part of it as it is: True
    when the text was read line by line (printable ASCII without quotes, so no string
    with a lone surrogate, and every integer within SQLite's 64 bits)."""
    if _SLOW.intersection(text):
        return strict_load(text), False
    try:
        return _plainest(text), True
    except _Declined:
        pass
    return _parsed(text), False


def _parsed(text: str) -> Any:
    """A text with none of _SLOW's characters, by libyaml if it reads it, else strictly."""
    if _FastLoader is not None:
        try:
            return _quick(text)
        except Exception:  # the strict loader below says what is wrong
            pass
    return strict_load(text)


def strict_load(text: str) -> Any:
    """`load_yaml` by the strict (pure Python) loader alone: the reference."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except (UnsafeYaml, YamlSyntaxError):
        raise
    except ConstructorError as exc:
        raise UnsafeYaml(f"YAML construct not allowed: {exc.problem}") from None
    except (ValueError, OverflowError) as exc:  # e.g. an explicit !!timestamp out of range
        raise YamlSyntaxError(f"a value cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise YamlSyntaxError(f"{problem}{where}") from None
