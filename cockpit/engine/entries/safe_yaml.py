"""A YAML loader for untrusted text: plain data only, no anchors, aliases, tags or
duplicate keys."""

from __future__ import annotations

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


# libyaml's parser (C) behind the same resolvers: used only for a text that cannot hold an
# anchor, an alias, a tag or a tab (see _SLOW), and only when it parses to plain data
# the quick walk below builds alone; anything else, and every error, goes through the strict
# loader above, whose refusals and messages are the reference.
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CStrictLoader(yaml.CSafeLoader):  # mappings are built by _plain
        yaml_implicit_resolvers = _RESOLVERS

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


def load_yaml(text: str) -> Any:
    """Parse one YAML document of plain data.

    Raises YamlSyntaxError for malformed or ambiguous YAML and UnsafeYaml for anchors,
    aliases and tags that construct anything but plain data.
    """
    if _FastLoader is not None and not _SLOW.intersection(text):
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
