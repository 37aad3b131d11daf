"""JSON Schemas (draft 2020-12) of the files people and agents write, built from the pydantic
models so they never drift from what the parser accepts: an entry of one kind, any entry
(discriminated on `kind`), and the finishing every published schema gets (`cockpit schema`).

An editor given one of these (the YAML language server's `# yaml-language-server:
$schema=...` line, or its settings) completes the keys and flags a typo as it is typed.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, create_model

from cockpit.domain import Kind
from cockpit.engine.entries.models import BODY_MODELS, ENTRY_SCHEMA, Entry

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_id(name: str) -> str:
    """The `$id` of a published schema: a URN naming the format (`name` is e.g.
    `cockpit.entry/v1:claim`); nothing is fetched from it."""
    return f"urn:cockpit:{name}"


@cache
def kind_model(kind: Kind) -> type[BaseModel]:
    """The whole entry document of `kind`: the common fields, `kind` fixed to it and `body`
    the kind's body model (for schemas only; parsing validates the body on its own)."""
    body_model = BODY_MODELS[kind]
    fixed: Any = Literal[kind.value]  # built at run time: a type only to pydantic
    model: type[BaseModel] = create_model(
        "".join(part.title() for part in kind.value.split("_")) + "Entry",
        __base__=Entry,
        __doc__=f"A `{kind.value}` entry (`{ENTRY_SCHEMA}`).",
        kind=(
            fixed,
            Field(description=f"Always `{kind.value}` for this kind."),
        ),
        body=(
            body_model,
            Field(
                description=_first_paragraph(body_model.__doc__) or f"The {kind.value}'s fields."
            ),
        ),
    )
    return model


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


_ENTRY_NOTE = (
    "Write it as YAML (`.yaml`, `.yml`), or as Markdown (`.md`) with these fields as YAML "
    "front matter and the Markdown after it as `body.description`; then `cockpit submit FILE`."
)


def entry_schema(kind: Kind | None = None) -> dict[str, Any]:
    """The JSON Schema of an entry of `kind` (None: any entry, one of the kinds, chosen by
    its `kind`), finished with `$schema`, `$id`, `title` and `description`."""
    if kind is not None:
        model = kind_model(kind)
        return finish(
            model.model_json_schema(by_alias=True),
            schema_id=schema_id(f"{ENTRY_SCHEMA}:{kind.value}"),
            title=f"Cockpit {kind.value} entry",
            description=f"{_first_paragraph(BODY_MODELS[kind].__doc__)} {_ENTRY_NOTE}".strip(),
        )
    members: Any = Union[tuple(kind_model(k) for k in Kind)]  # noqa: UP007
    any_entry: Any = Annotated[members, Field(discriminator="kind")]
    adapter: TypeAdapter[Any] = TypeAdapter(any_entry)
    kinds = ", ".join(f"`{k.value}`" for k in Kind)
    return finish(
        adapter.json_schema(by_alias=True),
        schema_id=schema_id(ENTRY_SCHEMA),
        title="Cockpit queue entry",
        description=f"One queue entry; its `kind` ({kinds}) decides the body. {_ENTRY_NOTE}",
    )


def finish(
    schema: dict[str, Any], *, schema_id: str, title: str, description: str
) -> dict[str, Any]:
    """`schema` with `$schema` (draft 2020-12), `$id`, `title` and `description` first."""
    head = {"$schema": DRAFT, "$id": schema_id, "title": title, "description": description}
    rest = {k: _tidy(v) for k, v in schema.items() if k not in head}
    return {**head, **rest}


def _tidy(value: Any) -> Any:
    """`value` with every `description` on one line per paragraph (a docstring's line
    breaks are only where its source wrapped)."""
    if isinstance(value, dict):
        return {
            k: "\n\n".join(" ".join(p.split()) for p in v.strip().split("\n\n"))
            if k == "description" and isinstance(v, str)
            else _tidy(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_tidy(item) for item in value]
    return value
