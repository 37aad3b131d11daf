"""The building blocks of the event payload tables (cockpit.reference.event_payloads and
cockpit.reference.delivery_payloads)."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.reference.shapes import Shape


def k(name: str, type_: str, meaning: str, *keys: Shape, opt: bool = False) -> Shape:
    return Shape(name, type_, meaning, tuple(keys), optional=opt)


def optional(*keys: Shape) -> tuple[Shape, ...]:
    return tuple(Shape(s.name, s.type, s.meaning, s.keys, optional=True) for s in keys)


SIGNATURE = k(
    "signature",
    "object",
    "Who signed what caused the event: `{signer, namespace, sig, signed}`, or "
    "`{unsigned: true}`; the runner's own events carry the runner key's.",
    opt=True,
)
TRANSITION = k(
    "transition",
    "object",
    "The state change: `{from, to}` (`from` null when the WP is booked).",
    k("from", "string | null", "The state before."),
    k("to", "string", "The state after."),
)
EDGES = k("edges", "array of object", "Lineage edges it adds: `{from, to, rel}`.")
ENTRY = (
    k("entry", "object", "The entry as ingested (its fields, as in entries.md)."),
    k("sha256", "string", "The SHA-256 of the entry file's bytes."),
    k("file", "string", "The file's name in the queue."),
    k("raw", "string", "The file's text."),
    EDGES,
)
REASON = k("reason", "string", "Why, as the person gave it.")
ERROR = k("error", "string", "What went wrong, in one sentence.")


@dataclass(frozen=True)
class EventDoc:
    records: str  # what the event records, one or two sentences
    by: str  # what appends it
    keys: tuple[Shape, ...]
