"""The store's schema in one place: the append-only events table with its triggers, and the
projection tables derived from it. `SCHEMA_VERSION` is kept in `PRAGMA user_version`."""

from __future__ import annotations

import sqlite_utils

SCHEMA_VERSION = 5

# The tables derived from events (dropped and derived again on a schema upgrade).
PROJECTION_TABLES = ("work_packages", "entries", "edges", "rejections", "candidates", "canon")


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the events table (append-only by trigger) and the projection tables."""
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


def create_tables(db: sqlite_utils.Database) -> None:
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
    if "agent_problem" not in db.table("work_packages").columns_dict:  # a store from 0.1
        db.table("work_packages").add_column("agent_problem", str)
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
