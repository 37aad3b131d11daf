"""A small language for the shape of a JSON document, written once and used twice: to
print the reference (`rows`) and to hold the real output against it (`problems`).

A `Shape` names a key, its type and what it means. Types are JSON's: `string`, `integer`,
`number`, `boolean`, `null`, `object`, `array of T`, `map of T` (an object keyed by
names, such as work packages or predicates) and `any`; alternatives are joined with
` | `, as in `string | null`. The `keys` of a shape describe the object its type holds
(directly, or as the items of an array or the values of a map). An object is closed: a
key the reference does not name is a difference, unless the shape is `open`; an object
with no keys described is not looked into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shape:
    name: str
    type: str
    meaning: str = ""
    keys: tuple[Shape, ...] = ()
    optional: bool = False  # the key may be absent
    open: bool = False  # keys beyond those named may appear


def key(name: str, type_: str, meaning: str = "", *keys: Shape, optional: bool = False) -> Shape:
    """A closed key (shorthand used by the tables of shapes)."""
    return Shape(name, type_, meaning, tuple(keys), optional=optional)


SHARE = (key("num", "integer", "the count"), key("den", "integer", "out of this many"))


@dataclass(frozen=True)
class _Type:
    kind: str  # string, integer, number, boolean, null, object, array, map, any
    item: _Type | None = None


_SCALARS = {"string", "integer", "number", "boolean", "null", "object", "array", "any"}


def parse_type(text: str) -> list[_Type]:
    """The alternatives of a type; ValueError for one the language does not have."""
    return [_one(part.strip()) for part in text.split("|")]


def _one(text: str) -> _Type:
    for container in ("array", "map"):
        if text.startswith(f"{container} of "):
            return _Type(container, _one(text.removeprefix(f"{container} of ").strip()))
    if text not in _SCALARS:
        raise ValueError(f"unknown JSON type {text!r}")
    return _Type(text)


def _holds_object(kinds: list[_Type]) -> str | None:
    """Where the object of a type sits: "" (the value), "[]" (items), ".<name>" (values)."""
    for kind in kinds:
        suffix = ""
        while kind.item is not None:
            suffix += "[]" if kind.kind == "array" else ".<name>"
            kind = kind.item
        if kind.kind == "object":
            return suffix
    return None


# -- printing ----------------------------------------------------------------------------


def rows(shape: Shape, prefix: str = "") -> list[tuple[str, str, str]]:
    """(path, type, meaning) of every key under `shape`, depth first, in order."""
    out: list[tuple[str, str, str]] = []
    for item in shape.keys:
        path = f"{prefix}.{item.name}" if prefix else item.name
        kind = item.type + (" (may be absent)" if item.optional else "")
        meaning = item.meaning + (" More keys may appear." if item.open and item.keys else "")
        out.append((f"`{path}`", kind, meaning))
        where = _holds_object(parse_type(item.type))
        if where is not None and item.keys:
            out += rows(item, path + where)
    return out


# -- checking ----------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fits(value: Any, kind: _Type) -> bool:
    actual = json_type(value)
    if kind.kind == "any":
        return True
    if kind.kind == "map":
        return actual == "object"
    if kind.kind == "number":
        return actual in ("integer", "number")
    return actual == kind.kind


def problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Every way `value` differs from `shape` (empty when it matches)."""
    for kind in parse_type(shape.type):
        if _fits(value, kind):
            return _inside(value, kind, shape, path)
    where = path or "the document"
    return [f"{where} is {json_type(value)}; the reference says {shape.type}"]


def _inside(value: Any, kind: _Type, shape: Shape, path: str) -> list[str]:
    found: list[str] = []
    if kind.kind in ("array", "map") and kind.item is not None:
        items = enumerate(value) if kind.kind == "array" else value.items()
        for index, item in items:
            where = f"{path}[{index}]" if kind.kind == "array" else f"{path}.{index}"
            if not _fits(item, kind.item):
                found.append(f"{where} is {json_type(item)}; the reference says {shape.type}")
            else:
                found += _inside(item, kind.item, shape, where)
    elif kind.kind == "object" and shape.keys:
        named = {item.name for item in shape.keys}
        for item in shape.keys:
            where = f"{path}.{item.name}" if path else item.name
            if item.name in value:
                found += problems(value[item.name], item, where)
            elif not item.optional:
                found.append(f"{where} is missing (the reference names it)")
        if not shape.open:
            for extra in sorted(set(value) - named):
                where = f"{path}.{extra}" if path else extra
                found.append(f"{where} is not in the reference")
    return found
