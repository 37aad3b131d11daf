"""docs/reference/event-types.md: every event type of `cockpit.domain.EventType`, what it
records and its payload's keys (cockpit.reference.event_payloads); a new event type
without its table stops the generator."""

from __future__ import annotations

from cockpit.domain import EventType
from cockpit.reference.documents import EVENT_KEYS
from cockpit.reference.event_payloads import EVENTS, payload_shape
from cockpit.reference.markdown import banner, page, table
from cockpit.reference.shapes import Shape, rows

SOURCES = ("cockpit/domain.py", "cockpit/reference/event_payloads.py")


def render() -> str:
    missing = [t.value for t in EventType if t not in EVENTS]
    if missing:
        raise ValueError(f"event types without a payload table here: {', '.join(missing)}")
    summary = table(
        ("type", "records", "appended by"),
        [(f"[`{t.value}`](#{t.value})", EVENTS[t].records, EVENTS[t].by) for t in EventType],
    )
    sections = []
    for event_type in EventType:
        doc = EVENTS[event_type]
        sections.append(
            page(
                f"## `{event_type.value}`",
                f"{doc.records} Appended by {doc.by}.",
                table(("payload key", "type", "meaning"), rows(payload_shape(event_type))),
            )
        )
    event = Shape("", "object", "", EVENT_KEYS)
    return page(
        banner("Event types", SOURCES),
        "Every change Cockpit makes is one event appended to the workspace's hash-chained "
        "audit log, in the same transaction as the change. `cockpit audit log --json` prints "
        "them; the TUI's audit screen and lineage stepper show them. Each event has these "
        "fields; its `payload` depends on its type.",
        table(("field", "type", "meaning"), rows(event)),
        "A key marked *may be absent* appears only on some events of the type (an event "
        "caused by an entry carries the entry; one caused by a person's action does not). "
        "Every payload may carry `signature`.",
        summary,
        *sections,
    )
