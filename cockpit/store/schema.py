"""The store's schema in one place: the append-only events table with its triggers, and the
projection tables derived from it. `SCHEMA_VERSION` is kept in `PRAGMA user_version`."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import TYPE_CHECKING

from cockpit.domain import State
from cockpit.store.attention import AGENT_WAIT_SQL, ATTENTION_SQL

if TYPE_CHECKING:  # sqlite-utils is imported only where a store is created
    import sqlite_utils

SCHEMA_VERSION = 7

# The tables derived from events (dropped and derived again on a schema upgrade).
PROJECTION_TABLES = ("work_packages", "entries", "edges", "rejections", "candidates", "canon")


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the events table (append-only by trigger) and the projection tables (the
    board's indexes are the store's to add, once the projections are filled)."""
    db.table("events").create(
        {
            "seq": int,
            "event_id": str,
            "parent_seq": int,
            "ts": str,
            "type": str,
            "work_package": str,
            "principal": str,
            "entry_id": str,
            "payload": str,
            "leaf": str,
            "chain": str,
        },
        pk="seq",
        not_null={"event_id", "ts", "type", "payload", "leaf", "chain"},
        if_not_exists=True,
    )
    db.table("events").create_index(["work_package", "seq"], if_not_exists=True)
    db.table("events").create_index(["type"], if_not_exists=True)
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END"
    )
    # INSERT OR REPLACE deletes without firing DELETE triggers: only a true append may insert.
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS events_append_only BEFORE INSERT ON events "
        "WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events) "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: only the next seq may be "
        "inserted'); END"
    )
    create_tables(db)


# A state's place in the lifecycle (SPEC 4 lists the states in that order): the board sorts
# by it, not by the state's name. LIFECYCLE_SQL is the same rank in SQL, indexed below.
LIFECYCLE = {state.value: rank for rank, state in enumerate(State)}
LIFECYCLE_SQL = (
    "CASE state "
    + " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in LIFECYCLE.items())
    + f" ELSE {len(LIFECYCLE)} END"
)

# The board's sort orders (name -> SQL key; cockpit.store.board pages by them), each with
# an index on (key, id, title): a page at any depth is one index seek (keyset paging), never
# a walk over the rows before it, and a text filter is matched on the index's titles
# without reading the rows it leaves out.
BOARD_SORTS = {
    "id": "id",
    "state": LIFECYCLE_SQL,
    "tier": "tier",
    "assignee": "coalesce(assignee, '')",
    "age": "created",
    "updated": "last_seq",
    "title": "title",
}
# The needs-attention view and count read a partial index holding just those WPs, and one
# holding the WPs that wait for an agent without needing attention otherwise (counted by
# lane when nobody starts some lanes' agents). Their names carry a hash of the rule's SQL:
# when the rule changes, the stale ones are dropped.
_RULE = hashlib.sha256(f"{ATTENTION_SQL}\n{AGENT_WAIT_SQL}".encode()).hexdigest()[:12]
ATTENTION_INDEX = f"wp_attention_{_RULE}"
WAITING_INDEX = f"wp_waiting_{_RULE}"
WAITING_SQL = f"{AGENT_WAIT_SQL} AND NOT {ATTENTION_SQL}"


# The board's counts by state, kept in step with the work_packages rows, so the header reads
# them on every change without counting a million rows. Not a projection (replay compares
# those): a summary, counted afresh whenever its triggers are made. A row's state changing
# or the row going is counted by trigger; a row coming is counted by the one statement that
# inserts WPs (`COUNT_BOOKED`, run by projections' booking): an AFTER INSERT trigger there
# would have SQLite keep a statement journal for every booking, about 5% of ingest.
STATE_COUNTS = "wp_state_counts"
# The counts as the rows give them (what the kept ones are counted afresh from).
COUNTED_BY_STATE = "SELECT state, count(*) FROM work_packages GROUP BY state"


def _bump(state: str) -> str:
    return (
        f"INSERT INTO {STATE_COUNTS} (state, n) VALUES ({state}, 1) "
        "ON CONFLICT (state) DO UPDATE SET n = n + 1"
    )


_BUMP = _bump("NEW.state") + ";"
_DROP = f"UPDATE {STATE_COUNTS} SET n = n - 1 WHERE state = OLD.state;"
COUNT_BOOKED = _bump("?")
STATE_COUNT_TRIGGERS = {
    "wp_state_counts_update": "AFTER UPDATE OF state ON work_packages "
    f"WHEN OLD.state IS NOT NEW.state BEGIN {_DROP} {_BUMP} END",
    "wp_state_counts_delete": f"AFTER DELETE ON work_packages BEGIN {_DROP} END",
}
# The trigger that counted a WP row's insert until this version (see retire_insert_count).
RETIRED_INSERT_COUNT = "wp_state_counts_insert"


def board_indexes() -> dict[str, str]:
    """The board's indexes: name -> the CREATE INDEX statement."""
    out: dict[str, str] = {}
    for name, key in BOARD_SORTS.items():
        columns = dict.fromkeys([key, "id", "title"])  # (id, title) and (title, id) once each
        out[f"wp_sort_{name}"] = (
            f"CREATE INDEX IF NOT EXISTS wp_sort_{name} ON work_packages({', '.join(columns)})"
        )
    out[ATTENTION_INDEX] = (
        f"CREATE INDEX IF NOT EXISTS {ATTENTION_INDEX} ON work_packages(id) WHERE {ATTENTION_SQL}"
    )
    out[WAITING_INDEX] = (
        f"CREATE INDEX IF NOT EXISTS {WAITING_INDEX} ON work_packages(lane) WHERE {WAITING_SQL}"
    )
    return out


def _stale(conn: sqlite3.Connection) -> set[str]:
    """The board's indexes in the store that are no longer made as they are: of an earlier
    needs-attention rule, or an earlier sort index's name or key (the state sort was by
    name before it was by lifecycle). SQLite keeps each index's CREATE statement as it was
    given, without IF NOT EXISTS."""
    wanted = {
        name: statement.replace(" IF NOT EXISTS", "", 1)
        for name, statement in board_indexes().items()
    }
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall()
    return {
        name
        for name, sql in rows
        if name.startswith(("wp_board_", "wp_sort_", "wp_attention_", "wp_waiting_"))
        and wanted.get(name) != sql
    }


def board_schema_missing(conn: sqlite3.Connection) -> bool:
    """Whether a store lacks some of what the board reads (its indexes, its state counts),
    made before they existed or before the needs-attention rule or a sort's key last
    changed: a cheap read of the schema."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    wanted = {*board_indexes(), *STATE_COUNT_TRIGGERS, STATE_COUNTS}
    return bool(_stale(conn)) or not wanted <= have


def create_board_schema(db: sqlite_utils.Database) -> None:
    """Create what the board reads that is missing (inside the caller's transaction; a few
    seconds once on a store of a million WPs): its indexes (those no longer made are
    dropped), and its state counts, counted afresh whenever their triggers are made."""
    for name in _stale(db.conn):
        db.execute(f"DROP INDEX {name}")
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master").fetchall()}
    for statement in board_indexes().values():
        db.execute(statement)
    if STATE_COUNTS in have and set(STATE_COUNT_TRIGGERS) <= have:
        return
    create_state_counts(db)
    _count_afresh(db.conn)
    for name, body in STATE_COUNT_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def retire_insert_count(conn: sqlite3.Connection) -> None:
    """In a transaction that may book WPs: drop the trigger by which an earlier Cockpit
    counted each inserted WP row, if the store has it (kept beside COUNT_BOOKED, every
    booking would count twice), and count the states afresh. Only where no earlier Cockpit
    can be booking meanwhile, which would then count nothing: a sweep, under the runner
    lock. An earlier Cockpit opening the store makes the trigger again (and counts afresh);
    the next sweep's batch retires it again."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (RETIRED_INSERT_COUNT,)
    ).fetchone()
    if found is None:
        return
    conn.execute(f"DROP TRIGGER {RETIRED_INSERT_COUNT}")
    _count_afresh(conn)


def _count_afresh(conn: sqlite3.Connection) -> None:
    conn.execute(f"DELETE FROM {STATE_COUNTS}")
    conn.execute(f"INSERT INTO {STATE_COUNTS} (state, n) {COUNTED_BY_STATE}")


def create_state_counts(db: sqlite_utils.Database) -> None:
    db.execute(f"CREATE TABLE IF NOT EXISTS {STATE_COUNTS} (state TEXT PRIMARY KEY, n INTEGER)")


def create_tables(db: sqlite_utils.Database) -> None:
    """The projection tables, and the state counts a booking adds to (COUNT_BOOKED)."""
    create_state_counts(db)
    db.table("work_packages").create(
        {
            "id": str,
            "title": str,
            "objective": str,
            "state": str,
            "tier": str,
            "lane": str,
            "owner": str,
            "accountable": str,
            "assignee": str,
            "labels": str,
            "success_criteria": str,
            "target_repo": str,
            "base_ref": str,
            "evidence_floor": str,
            "overridden": int,
            "vetoed": int,
            "scope_declined": int,
            "blocked_unowned": int,
            "open_advisory": str,
            "agent_problem": str,
            "monitor_flags": str,  # the progress monitor's open flags (JSON), NULL if none
            "delivery": str,  # the last `delivered` payload less its signature (JSON; SPEC 11.3)
            "cost_usd": str,  # what its agents' runs cost so far (a decimal string; SPEC 9.1)
            "tokens": int,  # their input and output tokens so far
            "created": str,
            "booked_seq": int,
            "last_seq": int,
            "updated_ts": str,
            "body": str,
            "last_verify": str,
        },
        pk="id",
        not_null={"state", "title"},
        defaults={
            "overridden": 0,
            "vetoed": 0,
            "scope_declined": 0,
            "blocked_unowned": 0,
            "tokens": 0,
        },
        if_not_exists=True,
    )
    columns = db.table("work_packages").columns_dict
    if "agent_problem" not in columns:  # a store from 0.1
        db.table("work_packages").add_column("agent_problem", str)
    if "monitor_flags" not in columns:  # a store from before the progress monitor
        db.table("work_packages").add_column("monitor_flags", str)
    if "delivery" not in columns:  # a store from before delivery (SPEC 11.3)
        db.table("work_packages").add_column("delivery", str)
    db.table("work_packages").create_index(["state"], if_not_exists=True)
    db.table("entries").create(
        {
            "id": str,
            "kind": str,
            "work_package": str,
            "principal": str,
            "sha256": str,
            "file": str,
            "created": str,
            "seq": int,
            "refs": str,
            "body": str,
            "raw": str,
        },
        pk="id",
        not_null={"kind", "sha256", "seq"},
        if_not_exists=True,
    )
    db.table("entries").create_index(["work_package", "seq"], if_not_exists=True)
    db.table("edges").create(
        {"from_id": str, "to_id": str, "rel": str, "work_package": str, "seq": int},
        pk=("from_id", "to_id", "rel"),
        if_not_exists=True,
    )
    db.table("edges").create_index(["work_package"], if_not_exists=True)
    db.table("rejections").create(
        {
            "seq": int,
            "file": str,
            "original_file": str,
            "entry_id": str,
            "work_package": str,
            "code": str,
            "message": str,
            "sha256": str,
            "ts": str,
            # 1 when the rejected entry carried a valid signature: its id is used up.
            "signed": int,
        },
        pk="seq",
        defaults={"signed": 0},
        if_not_exists=True,
    )
    db.table("rejections").create_index(["original_file", "sha256"], if_not_exists=True)
    db.table("rejections").create_index(["entry_id"], if_not_exists=True)
    db.table("candidates").create(
        {
            "id": str,
            "work_package": str,
            "principal": str,
            "record": str,  # as stored: secrets replaced by [REDACTED:kind]
            "record_sha256": str,
            "source": str,
            "policy_version": int,
            "evidence": str,
            "tenant": str,
            "redaction": str,
            "state": str,  # candidate | commissioned
            "canon_id": str,
            "last_gate": str,
            "seq": int,
            "created": str,
        },
        pk="id",
        not_null={"record", "state", "seq"},
        if_not_exists=True,
    )
    db.table("candidates").create_index(["work_package"], if_not_exists=True)
    db.table("canon").create(
        {
            "id": str,
            "candidate": str,
            "work_package": str,
            "record": str,
            "record_sha256": str,
            "author": str,
            "commissioned_by": str,
            "seq": int,
            "ts": str,
            "provenance": str,
        },
        pk="id",
        not_null={"record", "record_sha256", "seq"},
        if_not_exists=True,
    )
    db.table("canon").create_index(["record_sha256"], if_not_exists=True)
    if not db.table("canon").detect_fts():
        # Full-text search over canon records (FTS5, kept in step by triggers).
        db.table("canon").enable_fts(["record"], fts_version="FTS5", create_triggers=True)
