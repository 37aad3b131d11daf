"""A YAML loader for untrusted text: plain data only, no anchors, aliases, tags or
duplicate keys."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from cockpit.errors import InputError


class UnsafeYaml(InputError, ValueError):
    """The document uses a YAML feature refused for untrusted input (anchor, alias, tag)."""


class YamlSyntaxError(InputError, ValueError):
    """The document is not well-formed YAML, or is ambiguous (duplicate keys)."""


class _StrictLoader(yaml.SafeLoader):
    # Timestamps stay strings: the entry model checks them as RFC 3339 itself, so an
    # impossible date is a clear schema error rather than a crash in the YAML library.
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYaml(f"YAML alias *{event.anchor} is not allowed")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise UnsafeYaml(f"YAML anchor &{anchor} is not allowed")
        return super().compose_node(parent, index)

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


def load_yaml(text: str) -> Any:
    """Parse one YAML document of plain data.

    Raises YamlSyntaxError for malformed or ambiguous YAML and UnsafeYaml for anchors,
    aliases and tags that construct anything but plain data.
    """
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
