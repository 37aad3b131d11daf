"""What every `--json` document is built from: a `Document` (the command, which form of
it, its shape) and the pieces several documents share."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.reference.shapes import SHARE, Shape, key


@dataclass(frozen=True)
class Document:
    command: str  # the command path after `cockpit`, e.g. "audit verify"
    when: str  # which form of the command prints it ("" when there is one)
    shape: Shape  # name "" : the document itself


def doc(command: str, type_: str, meaning: str, *keys: Shape, when: str = "") -> Document:
    return Document(command, when, Shape("", type_, meaning, keys))


EVENT_KEYS = (
    key("seq", "integer", "The event's place in the chain, from 1."),
    key("event_id", "string", "A UUID."),
    key("parent_seq", "integer | null", "The previous event of the same work package."),
    key("ts", "string", "When it was appended: UTC, RFC 3339."),
    key("type", "string", "The event type ([event types](event-types.md))."),
    key("work_package", "string | null", "The work package it belongs to."),
    key("principal", "string | null", "Who caused it (null: the queue's or the chain's own)."),
    key("entry_id", "string | null", "The entry that caused it."),
    key("payload", "object", "What it records, by type ([event types](event-types.md))."),
    key("leaf", "string", "The event's leaf hash (hex)."),
    key("chain", "string", "The chain hash through this event (hex)."),
)
ERROR = doc(
    "",
    "object",
    "Printed instead when a command fails with `--json` (and the sentence on stderr).",
    key("error", "string", "The one sentence that says what went wrong."),
    key("exit_code", "integer", "The exit code, 1 or 2 ([exit codes](exit-codes.md))."),
)
_LAST_VERIFY = (
    key("outcome", "string", "`success`, `blocked`, `failed` or `skipped`."),
    key("acceptance_status", "string", "`accepted` or `withheld`."),
    key("blocking_predicate", "string | null", "The first predicate that withheld."),
    key("blocked_reason_class", "string | null", "That predicate's reason class."),
)
_STATUS = (
    key("id", "string", "The work package's id."),
    key("title", "string", "Its title."),
    key("state", "string", "Its lifecycle state."),
    key("tier", "string", "`light`, `standard` or `deep`."),
    key("owner", "string", "Who does the work."),
    key("accountable", "string", "Who answers for it."),
    key("assignee", "string | null", "Whom it was dispatched to."),
    key("overridden", "boolean", "Whether an override ever moved it (a mark kept forever)."),
    key("last_verify", "object | null", "The latest gate run, or null.", *_LAST_VERIFY),
)
_PREDICATES = key(
    "predicates",
    "map of object",
    "Every predicate by name, in the gate's order.",
    key("status", "string", "`satisfied`, `unsatisfied`, `not_applicable` or `error`."),
    key("detail", "string", "What the gate saw."),
)
_TALLY = (
    key("input_tokens", "integer", "Tokens read."),
    key("output_tokens", "integer", "Tokens written."),
    key("cache_read_tokens", "integer", "Tokens read from the CLI's cache."),
    key("cost_usd", "string", "Dollars, as a decimal string."),
    key("runs", "integer", "Agent runs counted."),
    key("runs_with_cost", "integer", "Of those, runs whose CLI reported a cost."),
)


def _share(name: str, meaning: str) -> Shape:
    return key(name, "object", meaning, *SHARE)
