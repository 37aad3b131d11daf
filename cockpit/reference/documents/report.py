"""The document of `cockpit report WP --json`: the reviewer's report as data, every
statement with the pointers that support it (docs/report.md says what each section means)."""

from __future__ import annotations

from cockpit.reference.documents.base import _TALLY, Document, doc
from cockpit.reference.shapes import Shape, key

_POINTERS = key(
    "pointers",
    "array of object",
    "What supports the statement: an event (`seq`) or an entry (`entry` and `sha256`).",
    key("seq", "integer", "An event of the WP in `cockpit audit log`.", optional=True),
    key("entry", "string", "An entry id.", optional=True),
    key("sha256", "string", "The SHA-256 of the entry's file as ingested.", optional=True),
)


def _facts(name: str, meaning: str) -> Shape:
    return key(
        name,
        "array of object",
        meaning,
        key("text", "string", "The statement."),
        _POINTERS,
    )


def _entry(*keys: Shape) -> tuple[Shape, ...]:
    return (
        key("entry", "string", "The entry id."),
        key("sha256", "string", "Its hash."),
        key("seq", "integer", "The event that recorded it."),
        key("principal", "string", "Who filed it."),
        *keys,
        _POINTERS,
    )


DOCUMENTS: tuple[Document, ...] = (
    doc(
        "report",
        "object",
        "The reviewer's report on one work package, built from its events and entries.",
        key("schema", "string", "`cockpit.report/v1`."),
        key("work_package", "string", "The WP."),
        key("title", "string", "Its title."),
        key(
            "through",
            "object",
            "The WP's latest event: the report covers the record up to it.",
            key("seq", "integer", "Its seq."),
            key("event_id", "string", "Its event id."),
            key("chain", "string", "The chain hash through it."),
            key("ts", "string", "When it was appended."),
        ),
        key(
            "status",
            "array of object",
            "The status table.",
            key("field", "string", "What the row says."),
            key("value", "string", "Its value."),
            _POINTERS,
        ),
        key(
            "evidence",
            "array of object",
            "The evidence register: every evidence packet, in order.",
            *_entry(
                key("measured_by", "string", "`runner`, or the principal who states it."),
                key("quality", "string | null", "The packet's own word on its quality."),
                key("missing", "array of string", "What it lists as missing."),
                key("cited_by", "array of object", "The claims citing it (entry pointers)."),
                key("gate_checked", "boolean", "Whether the deciding gate run held it."),
                key(
                    "items",
                    "array of object",
                    "Its items.",
                    key("class", "string | null", "The evidence class."),
                    key("ref", "string | null", "What it is about."),
                    key("file_sha256", "string | null", "The file's hash, if given."),
                    key("command", "string | null", "The command run, if any."),
                    key("exit_code", "integer | null", "Its exit code."),
                    key(
                        "output",
                        "object | null",
                        "A hash of its output: the whole output's (measured by the runner) "
                        "or the recorded log's.",
                        key("of", "string", "What was hashed."),
                        key("sha256", "string", "The hash."),
                    ),
                    _POINTERS,
                ),
            ),
        ),
        key(
            "claims",
            "array of object",
            "Every claim, in order.",
            *_entry(
                key("done_state", "string | null", "`done`, `partial` or `not_fixed`."),
                key("summary", "string | null", "The claim's summary."),
                key("evidence", "array of string", "The evidence ids it cites."),
                key("common_ground", "string | null", "The common ground it names."),
                key("unresolved_questions", "array of string", "Its open questions."),
            ),
        ),
        _facts("validated", "What the gate and people checked."),
        _facts("not_validated", "What was not checked or not touched."),
        key(
            "ladder",
            "array of object",
            "The evidence ladder, weakest class first.",
            key("class", "string", "The class."),
            key("items", "integer", "The WP's evidence items of it."),
            key("standing", "string", "`reached`, `not reached` or not filed below the top."),
            _POINTERS,
        ),
        _facts("non_claims", "What the packets do not claim."),
        key(
            "risks",
            "array of object",
            "Advisories, overrides, vetoes, monitor flags, withheld gate runs, rejections, "
            "agent problems, unsigned events.",
            key("kind", "string", "`advisory`, `override`, `veto`, `monitor`, `gate`, ..."),
            key("text", "string", "The statement."),
            _POINTERS,
        ),
        key(
            "next_gate",
            "object",
            "Where the WP stands and the gate it meets next.",
            key("state", "string", "Its state."),
            key("gate", "string", "The next gate (`none` once closed)."),
            key("who", "string", "Who acts there."),
            key("notes", "array of string", "What holds it (a veto, a serious advisory)."),
            _POINTERS,
        ),
        key(
            "usage",
            "object",
            "The agents' runs, tokens and cost.",
            key(
                "runs",
                "array of object",
                "One per `agent_started`, with its `agent_exited`.",
                *(
                    key(name, kind, meaning)
                    for name, kind, meaning in (
                        ("attempt", "integer | null", "The run's attempt."),
                        ("principal", "string | null", "The agent."),
                        ("lane", "string | null", "Its lane."),
                        ("stage", "string | null", "The state it worked in."),
                        ("driver", "string | null", "The lane's driver (null: `command`)."),
                        ("model", "string | null", "The model its CLI reported."),
                        ("sandbox", "string | null", "What confined it."),
                        ("exit_code", "integer | null", "Its exit code."),
                        ("duration_ms", "integer | null", "How long it ran."),
                        ("input_tokens", "integer | null", "Tokens read."),
                        ("output_tokens", "integer | null", "Tokens written."),
                        ("cache_read_tokens", "integer | null", "Tokens read from cache."),
                        ("cost_usd", "string | null", "Dollars (null: not reported)."),
                        ("turns", "integer | null", "Turns taken."),
                        ("session_id", "string | null", "The CLI's session."),
                    )
                ),
                _POINTERS,
            ),
            key("total", "object | null", "The WP's tally, as `cockpit metrics`.", *_TALLY),
            _POINTERS,
        ),
        key(
            "lineage",
            "object",
            "`cockpit lineage`'s document; each edge also names the event that recorded it.",
            key("work_package", "string", "The WP."),
            key("nodes", "array of object", "As `cockpit lineage --json`."),
            key(
                "edges",
                "array of object",
                "As `cockpit lineage --json`, with `seq`.",
                key("from", "string", "A node id."),
                key("to", "string", "The node it points at."),
                key("rel", "string", "How."),
                key("seq", "integer | null", "The event that recorded the edge."),
            ),
        ),
        key(
            "events_cited",
            "array of object",
            "Every event a pointer names, to check against the chain.",
            key("seq", "integer", "Its seq."),
            key("type", "string", "Its type."),
            key("principal", "string | null", "Who caused it."),
            key("event_id", "string", "Its event id."),
            key("leaf", "string", "Its leaf hash."),
        ),
    ),
)
