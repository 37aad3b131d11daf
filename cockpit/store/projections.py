"""Projections: the current picture (work packages, entries, lineage edges, rejections),
derived from events alone.

`apply` is the only writer. The live store calls it as each event is appended and replay
calls it over the whole log, so both arrive at the same tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from cockpit.domain import AGENT_STAGES, LIVE_STATES, EventType
from cockpit.store import flags
from cockpit.store.canonical import json_encoder_of
from cockpit.store.events import Event
from cockpit.store.rows import WorkPackageRow
from cockpit.store.schema import COUNT_BOOKED, PROJECTION_TABLES, create_tables

if TYPE_CHECKING:  # sqlite-utils is imported only where a store is created
    import sqlite_utils

_JSON_COLUMNS_WP = (
    "labels",
    "body",
    "last_verify",
    "success_criteria",
    "monitor_flags",
    "delivery",
)
_JSON_COLUMNS_ENTRY = ("refs", "body")


_JSON_COLUMNS_CANDIDATE = ("evidence", "redaction", "last_gate")

# `json.dumps(value)` with its defaults (an event's values come from parsed JSON).
_json = json_encoder_of(ensure_ascii=True, separators=(", ", ": "), sort_keys=False)


def _record_entry(conn: sqlite3.Connection, event: Event, body: str) -> None:
    entry = event.payload["entry"]
    conn.execute(
        "INSERT INTO entries (id, kind, work_package, principal, sha256, file, created, seq, "
        "refs, body, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry["id"],
            entry["kind"],
            entry["work_package"],
            entry["principal"],
            event.payload["sha256"],
            event.payload.get("file"),
            entry["created"],
            event.seq,
            _json(entry.get("refs", [])),
            body,
            event.payload.get("raw"),
        ),
    )


def _book(conn: sqlite3.Connection, event: Event, body_json: str) -> None:
    entry = event.payload["entry"]
    body = entry["body"]
    state = event.payload["transition"]["to"]
    conn.execute(
        "INSERT INTO work_packages (id, title, objective, state, tier, lane, owner, accountable, "
        "labels, success_criteria, target_repo, base_ref, evidence_floor, created, booked_seq, "
        "last_seq, updated_ts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry["id"],
            body["title"],
            body["objective"],
            state,
            body["tier"],
            body["lane"],
            body["owner"],
            body["accountable"],
            _json(body.get("labels", [])),
            _json(body.get("success_criteria", [])),
            body.get("target_repo"),
            body.get("base_ref"),
            body.get("evidence_floor"),
            entry["created"],
            event.seq,
            event.seq,
            event.ts,
            body_json,
        ),
    )
    conn.execute(COUNT_BOOKED, (state,))  # the board's count (the only insert of a WP row)


def _record_candidate(conn: sqlite3.Connection, event: Event) -> None:
    entry = event.payload["entry"]
    body = entry["body"]
    conn.execute(
        "INSERT INTO candidates (id, work_package, principal, record, record_sha256, source, "
        "policy_version, evidence, tenant, redaction, state, seq, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'candidate', ?, ?)",
        (
            entry["id"],
            entry["work_package"],
            entry["principal"],
            body["record"],
            event.payload.get("record_sha256"),
            body.get("source"),
            body.get("policy_version"),
            _json(body.get("evidence", [])),
            event.payload.get("tenant"),
            _json(event.payload.get("redaction")),
            event.seq,
            entry["created"],
        ),
    )


def _commission(conn: sqlite3.Connection, event: Event) -> None:
    payload = event.payload
    conn.execute(
        "INSERT INTO canon (id, candidate, work_package, record, record_sha256, author, "
        "commissioned_by, seq, ts, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            payload["canon_id"],
            payload["candidate"],
            event.work_package,
            payload["record"],
            payload["record_sha256"],
            payload["author"],
            event.principal,
            event.seq,
            event.ts,
            _json(payload.get("provenance")),
        ),
    )
    conn.execute(
        "UPDATE candidates SET state = 'commissioned', canon_id = ? WHERE id = ?",
        (payload["canon_id"], payload["candidate"]),
    )


def node_id(event: Event) -> str:
    """The lineage node an event stands for: its entry, or (for decisions and actions)
    the event itself as `type@seq`."""
    if event.entry_id and "entry" in event.payload:
        return event.entry_id
    return f"{event.type}@{event.seq}"


def _record_edges(conn: sqlite3.Connection, event: Event) -> None:
    me = node_id(event)
    for edge in event.payload.get("edges", []):
        conn.execute(
            "INSERT OR IGNORE INTO edges (from_id, to_id, rel, work_package, seq) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                me if edge["from"] == "@self" else edge["from"],
                me if edge["to"] == "@self" else edge["to"],
                edge["rel"],
                event.work_package,
                event.seq,
            ),
        )


def apply(conn: sqlite3.Connection, event: Event) -> None:
    """Apply one event to the projection tables (inside the caller's transaction)."""
    payload = event.payload
    booked = event.type == EventType.TASK_CREATED
    recorded = "entry" in payload and event.type != EventType.ENTRY_REJECTED
    body = ""
    entry = payload.get("entry")
    if (booked or recorded) and isinstance(entry, dict):  # its body, once for both tables
        body = _json(entry.get("body", {}))
    if booked:
        _book(conn, event, body)
    if recorded:
        _record_entry(conn, event, body)
    if "edges" in payload:
        _record_edges(conn, event)
    if event.type == EventType.CANDIDATE_CREATED:
        _record_candidate(conn, event)
    elif event.type == EventType.CANON_GATE_EVALUATED:
        conn.execute(
            "UPDATE candidates SET last_gate = ? WHERE id = ?",
            (_json(payload.get("summary")), payload["candidate"]),
        )
    elif event.type == EventType.CANDIDATE_COMMISSIONED:
        _commission(conn, event)
    if event.type == EventType.ENTRY_REJECTED:
        conn.execute(
            "INSERT INTO rejections (seq, file, original_file, entry_id, work_package, code, "
            "message, sha256, ts, signed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.seq,
                payload["file"],
                payload["original_file"],
                event.entry_id,
                event.work_package,
                payload["code"],
                payload["message"],
                payload["sha256"],
                event.ts,
                1 if payload.get("signed") else 0,
            ),
        )
        return
    wp = event.work_package
    if wp is None or (booked and wp == payload["entry"]["id"]):
        return  # a booking's row was written whole by _book
    if event.type in flags.MONITOR_EVENTS:
        _monitor(conn, wp, event)
        return
    updates: dict[str, Any] = {"last_seq": event.seq, "updated_ts": event.ts}
    transition = payload.get("transition")
    if transition is not None:
        updates["state"] = transition["to"]
    if event.type == EventType.DISPATCHED:
        updates["assignee"] = (
            payload["entry"]["body"]["to"] if "entry" in payload else payload["to"]
        )
        updates["scope_declined"] = 0
    elif event.type == EventType.SCOPE_CONFIRMED:
        updates["scope_declined"] = 0 if payload.get("confirmed", True) else 1
    elif event.type == EventType.OVERRIDE_APPLIED:
        updates["overridden"] = 1
    elif event.type == EventType.VETO_CHANGED:
        updates["vetoed"] = 1 if payload.get("active") else 0
    elif event.type == EventType.VERIFY_COMPLETED:
        updates["last_verify"] = _json(payload.get("summary"))
        updates["blocked_unowned"] = 1 if payload.get("outcome") == "blocked" else 0
    elif event.type == EventType.RECOVERY_PACKET_CREATED:
        updates["blocked_unowned"] = 0
    elif event.type == EventType.DELIVERED:  # what `status` shows, and the board's mark
        updates["delivery"] = _json({k: v for k, v in payload.items() if k != "signature"})
    elif event.type == EventType.AGENT_EXITED and isinstance(payload.get("usage"), dict):
        updates.update(_spent(conn, wp, payload["usage"]))
    elif event.type == EventType.CLAIM_PACKET_CREATED:
        updates["open_advisory"] = None
    elif event.type == EventType.ADVISORY_ISSUED and payload.get("severity") == "serious":
        updates["open_advisory"] = payload["id"]
    elif event.type == EventType.ADVISORY_DISMISSED:
        conn.execute(
            "UPDATE work_packages SET open_advisory = NULL WHERE id = ? AND open_advisory = ?",
            (wp, payload.get("advisory")),
        )
    problem = None  # what went wrong with the WP's agent, as this event says
    if event.type in (EventType.AGENT_EXITED, EventType.WORKTREE_FAILED, EventType.AGENT_FAILED):
        problem = agent_problem(event)
        # Only while the work is live: a late `lost` must not flag a WP that moved on.
        state = conn.execute("SELECT state FROM work_packages WHERE id = ?", (wp,)).fetchone()
        live = AGENT_STAGES if event.type == EventType.AGENT_EXITED else LIVE_STATES
        updates["agent_problem"] = problem if state and state[0] in live else None
    elif event.type == EventType.AGENT_STARTED or transition is not None:
        updates["agent_problem"] = None  # the work moved on
    # The monitor's open flags this event clears, by reason (flags.CLEARED_SQL).
    progress = (flags.cleared_by(event, problem), flags.changed_count(event))
    if "agent_problem" not in updates and "entry" in payload:
        # An entry of its assignee's (as assigned before this event): the agent returned.
        conn.execute(
            _update_sql(tuple(updates), returned=True),
            (*updates.values(), event.principal, *progress, wp),
        )
        return
    conn.execute(_update_sql(tuple(updates)), (*updates.values(), *progress, wp))


def _monitor(conn: sqlite3.Connection, wp: str, event: Event) -> None:
    """A flag raised or dismissed. Not the WP's own progress: its last_seq stays."""
    row = conn.execute("SELECT monitor_flags FROM work_packages WHERE id = ?", (wp,)).fetchone()
    if row is None:
        return
    now = flags.after_monitor_event(json.loads(row[0]) if row[0] else [], event)
    conn.execute(
        "UPDATE work_packages SET monitor_flags = ? WHERE id = ?", (_json(now) if now else None, wp)
    )


_UPDATES: dict[tuple[tuple[str, ...], bool], str] = {}


def _update_sql(columns: tuple[str, ...], *, returned: bool = False) -> str:
    """The UPDATE of a WP's row setting `columns` (and, if `returned`, clearing its
    agent problem when the next parameter is its assignee) and the monitor flags the two
    parameters after those clear, made once per shape."""
    sql = _UPDATES.get((columns, returned))
    if sql is None:
        assignments = [f"{column} = ?" for column in columns]
        if returned:
            assignments.append(
                "agent_problem = CASE WHEN assignee IS ? THEN NULL ELSE agent_problem END"
            )
        assignments.append(flags.CLEARED_SQL)  # progress may clear some monitor flags
        sql = f"UPDATE work_packages SET {', '.join(assignments)} WHERE id = ?"
        _UPDATES[(columns, returned)] = sql
    return sql


TOKENS_MAX = 2**62  # a WP's token count is held by SQLite's 64-bit INTEGER


def _spent(conn: sqlite3.Connection, wp: str, usage: dict[str, Any]) -> dict[str, Any]:
    """The WP's cost and tokens so far, with one more run's usage (SPEC 9.1): the cost is
    a decimal string, and stays NULL until some run reported one."""
    row = conn.execute("SELECT cost_usd, tokens FROM work_packages WHERE id = ?", (wp,)).fetchone()
    cost, tokens = (row[0], row[1] or 0) if row else (None, 0)
    for key in ("input_tokens", "output_tokens"):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < TOKENS_MAX:
            tokens = min(tokens + value, TOKENS_MAX)
    reported = usage.get("cost_usd")
    if isinstance(reported, str):
        try:
            amount = Decimal(reported)
        except ArithmeticError:
            amount = None
        if amount is not None and amount.is_finite() and amount >= 0:
            total = Decimal(cost or 0) + amount
            cost = format(total.normalize(), "f") if total else "0"
    return {"cost_usd": cost, "tokens": min(tokens, TOKENS_MAX)}


def agent_problem(event: Event) -> str | None:
    """Why an agent's run left its WP stuck (None when it ended well)."""
    return problem_of(event.type, event.payload)


def problem_of(event_type: str, payload: dict[str, Any]) -> str | None:
    """`agent_problem` of an `agent_exited`, `agent_failed` or `worktree_failed` payload."""
    if event_type == EventType.WORKTREE_FAILED:
        return f"its worktree could not be made: {payload.get('error')}"
    if event_type == EventType.AGENT_FAILED and payload.get("driver"):
        return f"its {payload['driver']} agent ({payload.get('reason')}): {payload.get('error')}"
    if event_type == EventType.AGENT_FAILED:
        return f"the runner could not work on it: {payload.get('error')}"
    if payload.get("timed_out"):
        return f"its agent timed out after {payload.get('timeout_s')} s"
    if payload.get("stopped"):
        return "its agent was stopped with the runner"
    if payload.get("lost"):
        return "its agent was lost when the runner died"
    if payload.get("error"):
        return f"its agent could not start: {payload['error']}"
    if payload.get("exit_code") not in (0, None):
        return f"its agent exited with code {payload['exit_code']}"
    if payload.get("returned") is False:
        return "its agent exited without returning an entry"
    if payload.get("moved") is False:
        return f"its agent exited and the work package is still {payload.get('state')}"
    return None


_FLAGS_WP = ("overridden", "vetoed", "scope_declined", "blocked_unowned")


def decode_work_package(row: dict[str, Any]) -> WorkPackageRow:
    for column in _JSON_COLUMNS_WP:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    for flag in _FLAGS_WP:
        row[flag] = bool(row.get(flag))
    return cast(WorkPackageRow, row)


def work_package_decoder(names: list[str]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """A row of the work_packages columns `names` (in that order) -> the dict
    `decode_work_package` makes of it, less the flags that are not among `names`."""
    texts = [i for i, name in enumerate(names) if name in _JSON_COLUMNS_WP]
    flags = [i for i, name in enumerate(names) if name in _FLAGS_WP]
    loads = json.loads

    def decode(row: tuple[Any, ...]) -> dict[str, Any]:
        values = list(row)
        for i in texts:
            if values[i] is not None:
                values[i] = loads(values[i])
        for i in flags:
            values[i] = bool(values[i])
        return dict(zip(names, values, strict=True))

    return decode


def decode_candidate(row: dict[str, Any]) -> dict[str, Any]:
    for column in _JSON_COLUMNS_CANDIDATE:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return row


def decode_canon(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("provenance") is not None:
        row["provenance"] = json.loads(row["provenance"])
    return row


def rebuild(db: sqlite_utils.Database, events: Iterable[Event]) -> None:
    """Drop the projection tables and derive them again from `events`, read once (a store
    from an earlier schema: its projections may lack what this version derives)."""
    if db.table("canon").exists() and db.table("canon").detect_fts():
        db.table("canon").disable_fts()
    for table in PROJECTION_TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")
    create_tables(db)
    for event in events:
        apply(db.conn, event)


def decode_entry(row: dict[str, Any]) -> dict[str, Any]:
    for column in _JSON_COLUMNS_ENTRY:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return row
