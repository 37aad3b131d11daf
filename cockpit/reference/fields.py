"""Reading a pydantic model the way a person reads a file format: each field's name as
written in the file, its type in plain words, whether it is required, its default, the
rules it must follow and what it means (the field's `description`)."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AwareDatetime, BaseModel, TypeAdapter
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class FieldRow:
    path: str  # as written in the file, e.g. `body.items[].class`
    type: str
    required: bool
    default: str  # "" when required or when there is nothing to show
    rules: str
    meaning: str


def nested_models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models a field holds and where: "" (itself), "[]" (list items) or ".<name>"
    (mapping values), for `X | None`, `list[X]` and `dict[str, X]`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin in (Union, types.UnionType):
        return [found for arg in args for found in nested_models(arg)]
    if origin is list and args:
        return [("[]" + where, model) for where, model in nested_models(args[0])]
    if origin is dict and len(args) == 2:
        return [(".<name>" + where, model) for where, model in nested_models(args[1])]
    return []


def type_text(annotation: Any) -> str:
    """The type in plain words: `text`, `list of text`, one of `a`, `b`, ..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        parts = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(parts)
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in args)
    if origin is list:
        return f"list of {type_text(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {type_text(args[0])} to {type_text(args[1])}"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return "one of " + ", ".join(f"`{member.value}`" for member in annotation)
        if issubclass(annotation, BaseModel):
            return "mapping (below)"
        if annotation is AwareDatetime or issubclass(annotation, AwareDatetime):
            return "timestamp"
    named = {str: "text", int: "integer", bool: "boolean", float: "number", Decimal: "decimal"}
    if annotation in named:
        return named[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _is_text(annotation: Any) -> bool:
    args = [a for a in get_args(annotation) if a is not type(None)]
    return annotation is str or args == [str]


def rules_text(info: FieldInfo) -> str:
    """The constraints pydantic checks on the field, in words."""
    rules: list[str] = []
    text = _is_text(info.annotation)
    for item in info.metadata:
        if isinstance(item, annotated_types.MinLen):
            if text:
                rules.append("not empty" if item.min_length == 1 else f"≥ {item.min_length} chars")
            else:
                rules.append(f"at least {item.min_length} item{'s' * (item.min_length != 1)}")
        elif isinstance(item, annotated_types.MaxLen):
            rules.append(f"at most {item.max_length}")
        elif isinstance(item, annotated_types.Ge):
            rules.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            rules.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            rules.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.Lt):
            rules.append(f"< {item.lt}")
        else:
            pattern = getattr(item, "pattern", None)
            if pattern:
                rules.append(f"matches `{pattern}`")
            digits, places = (
                getattr(item, "max_digits", None),
                getattr(item, "decimal_places", None),
            )
            if digits is not None:
                rules.append(f"at most {digits} digits, {places} after the point")
    return ", ".join(rules)


def default_text(info: FieldInfo) -> str:
    """The default as it would be written in YAML flow style; "" if there is none to show
    (required, or a section whose own keys say their defaults)."""
    if info.is_required():
        return ""
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "see below"
    data = TypeAdapter(Any).dump_python(value, mode="json")
    if isinstance(value, Enum):
        data = value.value
    if isinstance(data, dict) and any(isinstance(v, dict) for v in data.values()):
        return "see below"
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))


def field_rows(
    model: type[BaseModel], prefix: str = "", extra_rules: dict[str, str] | None = None
) -> list[FieldRow]:
    """One row per field of `model`, then the rows of the models its fields hold, each
    path prefixed with where it sits (`prefix`). `extra_rules` adds rules checked outside
    pydantic, by path."""
    extra_rules = extra_rules or {}
    rows: list[FieldRow] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        written = info.alias or name
        path = f"{prefix}.{written}" if prefix else written
        rules = ", ".join(r for r in (rules_text(info), extra_rules.get(path, "")) if r)
        rows.append(
            FieldRow(
                path=path,
                type=type_text(info.annotation),
                required=info.is_required(),
                default=default_text(info),
                rules=rules,
                meaning=info.description or "",
            )
        )
        nested += [(path + where, found) for where, found in nested_models(info.annotation)]
    for path, found in nested:
        rows += field_rows(found, path, extra_rules)
    return rows


def table_cells(row: FieldRow) -> list[str]:
    """The cells of a reference table row: key, type, required/default, rules, meaning."""
    needed = "required" if row.required else "optional"
    if row.default:
        needed += f", default `{row.default}`" if row.default != "see below" else ", see below"
    return [f"`{row.path}`", row.type, needed, row.rules, row.meaning]
