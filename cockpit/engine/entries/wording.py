"""pydantic's validation errors in Cockpit's own words: one sentence naming the field's
path, what was given and what is allowed, an unknown key first and with the nearest valid
name ("unknown key `titel` in body (did you mean `title`?)"), since a typo also makes the
right key look missing.

Only the error path comes here: nothing on the way of a valid entry or config.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = Sequence[str | int]


def describe(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """One sentence for the first problem of `exc` (an unknown key before anything else),
    raised validating `model`; `prefix` is where the model sits (e.g. `body`)."""
    errors = exc.errors(include_url=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    error = unknown[0] if unknown else errors[0]
    loc, parent = _walk(model, error["loc"])
    where = path((prefix, *loc) if prefix else loc)
    if error["type"] == "extra_forbidden":
        return unknown_key(str(loc[-1]), path((prefix, *loc[:-1]) if prefix else loc[:-1]), parent)
    problem = _problem(error)
    return f"{where}: {problem}" if where else problem


def unknown_key(key: str, where: str, names: Sequence[str]) -> str:
    """ "unknown key `k` in where (did you mean `n`?)", the nearest of `names` suggested."""
    text = f"unknown key `{key}`" + (f" in {where}" if where else "")
    near = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    if near:
        return f"{text} (did you mean `{near[0]}`?)"
    if names and len(names) <= 8:
        return f"{text} (the keys here are {_listed([f'`{n}`' for n in names], 'and')})"
    return text


def path(loc: Loc) -> str:
    """A field's path as people write it: `body.items[0].class`."""
    text = ""
    for part in loc:
        if part == "":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys `model` takes, as written in a file (aliases where a field has one)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str | int) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _walk(model: type[BaseModel], loc: Loc) -> tuple[list[str | int], list[str]]:
    """(the error's location without pydantic's union tags, the keys the model at its
    parent takes) for an error at `loc` in `model`."""
    clean: list[str | int] = []
    current: Any = model
    names: list[str] = field_names(model)
    for part in loc:
        current = _without_none(current)
        names = field_names(current) if _is_model(current) else []
        if _is_model(current):
            info = _field(current, part)
            current = info.annotation if info is not None else None
        elif get_origin(current) in (list, tuple) and isinstance(part, int):
            current = get_args(current)[0] if get_args(current) else None
        elif get_origin(current) is dict:
            current = get_args(current)[1] if get_args(current) else None
        elif _is_union(current) and isinstance(part, str):
            current = None  # a union member's tag (e.g. `bool`): not part of the path
            continue
        else:
            current = None
        clean.append(part)
    return clean, names


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _is_union(value: Any) -> bool:
    return get_origin(value) in (Union, types.UnionType)


def _without_none(value: Any) -> Any:
    if _is_union(value):
        members = [a for a in get_args(value) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return value


def given(value: Any) -> str:
    """What a file gave, in a few words."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown) if shown else "an empty text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _listed(items: Sequence[str], last: str = "or") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "datetime_type": "a timestamp",
    "datetime_parsing": "a timestamp",
    "timezone_aware": "a timestamp with a zone",
}

_BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _problem(error: ErrorDetails) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return "required, but missing"
    if kind in _EXPECTED:
        if value is None:  # `key:` with nothing after it (a template's REQUIRED field)
            return f"left empty; it takes {_EXPECTED[kind]}"
        return f"expected {_EXPECTED[kind]}, got {given(value)}"
    if kind in ("enum", "literal_error"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if allowed and value is None:
            return f"left empty; use {_listed(allowed)}"
        if allowed:
            return f"{given(value)} is not allowed; use {_listed(allowed)}"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else (f"must be at least {ctx.get('min_length')} characters long")
        )
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_short":
        count = ctx.get("min_length")
        return f"needs at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} entries, got {ctx.get('actual_length')}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}, got {given(value)}"
    if kind == "string_pattern_mismatch":
        return f"{given(value)} is not of the form {ctx.get('pattern')}"
    if kind == "decimal_max_places":
        return f"takes at most {ctx.get('decimal_places')} decimal places, got {given(value)}"
    if kind == "decimal_max_digits":
        return f"takes at most {ctx.get('max_digits')} digits, got {given(value)}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("value_error", "assertion_error"):
        return message  # our own validators' sentences
    return f"{message[:1].lower()}{message[1:]} (got {given(value)})"
