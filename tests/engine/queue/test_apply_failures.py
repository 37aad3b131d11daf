"""Entries that pass the parser but cannot be applied (issue 11, point 8): they are refused
as `schema_error` at validation, and any other failure while applying an entry ends as a
rejection with its reason, never as a file retried forever in queue/cur/."""

from __future__ import annotations

import os
import sqlite3

import pytest
from helpers.workspace import Env, count_events, entry, rejection_reason, t, work_package

WORKER = "agent:implementer-1"


def evidence_with_exit_code(exit_code: str) -> str:
    return entry(
        "evidence",
        "EVD-1",
        "WP-1",
        WORKER,
        f"""
        items:
          - class: local_command_proof
            ref: log.txt
            command: make test
            exit_code: {exit_code}
        """,
        created=t(1),
    )


UNAPPLIABLE = {
    # YAML 1.1 hex ints have no digit limit; 5000 hex digits is no 64-bit integer.
    "huge-hex-exit-code.yaml": evidence_with_exit_code("0x" + "f" * 5000),
    "int-over-64-bits.yaml": entry(
        "candidate",
        "CAND-1",
        "WP-1",
        WORKER,
        "record: a fact\npolicy_version: 99999999999999999999\nevidence: []",
        created=t(1),
    ),
    # A YAML double-quoted escape for a lone surrogate: not text that UTF-8 can carry.
    "lone-surrogate.yaml": entry(
        "evidence", "EVD-2", "WP-1", WORKER, 'quality: "\\ud800"\nmissing: []', created=t(1)
    ),
    "surrogate-in-a-list.yaml": entry(
        "evidence", "EVD-3", "WP-1", WORKER, 'missing: ["ok", "\\udfff"]', created=t(1)
    ),
}


@pytest.mark.parametrize("name", sorted(UNAPPLIABLE))
def test_an_entry_that_cannot_be_stored_is_refused_as_schema_error(env: Env, name: str) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop(name, UNAPPLIABLE[name])
    summary = env.sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert os.listdir(env.ws.queue_dir("cur")) == []
    assert (env.rejected_dir / name).exists()
    reason = rejection_reason(env, name)
    assert reason["code"] == "schema_error", reason
    assert count_events(env, "entry_rejected") == 1
    # The runner goes on: a later entry is ingested.
    env.drop("next.yaml", entry("veto", "VETO-1", "WP-1", "human:owner", "reason: r", created=t(2)))
    assert env.sweep().sweep.ingested == 1


def test_integers_and_strings_are_bounded_in_every_field(env: Env) -> None:
    """The bound holds wherever an int or a string appears, not only in a few fields."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop(
        "cg.yaml",
        entry("common_ground", "CG-1", "WP-1", "human:owner", "version: 9223372036854775808"),
    )
    env.drop(
        "claim.yaml",
        entry(
            "claim",
            "CLM-1",
            "WP-1",
            WORKER,
            'done_state: done\nsummary: "ok \\udc80"',
            created=t(2),
        ),
    )
    summary = env.sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert rejection_reason(env, "cg.yaml")["code"] == "schema_error"
    assert rejection_reason(env, "claim.yaml")["code"] == "schema_error"
    assert "surrogate" in rejection_reason(env, "claim.yaml")["message"]


def test_an_unexpected_failure_while_applying_ends_as_a_rejection_not_a_loop(env: Env) -> None:
    """A real database refusing one projection write (a trigger planted in the store) makes
    applying the entry fail; the entry is rejected with that reason, once, and the sweep
    goes on; the next sweep does not pick it up again."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    assert env.sweep().sweep.ingested == 1
    with sqlite3.connect(env.ws.db_path) as conn:
        conn.execute(
            "CREATE TRIGGER planted BEFORE INSERT ON candidates "
            "BEGIN SELECT RAISE(ABORT, 'planted refusal'); END"
        )
    env.drop(
        "cand.yaml",
        entry("candidate", "CAND-1", "WP-1", WORKER, "record: r\npolicy_version: 1", created=t(1)),
    )
    env.drop("veto.yaml", entry("veto", "VETO-1", "WP-1", "human:owner", "reason: r", created=t(2)))
    summary = env.sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert summary.sweep.rejected == 1
    assert summary.sweep.ingested == 1  # the veto after it
    assert os.listdir(env.ws.queue_dir("cur")) == []
    reason = rejection_reason(env, "cand.yaml")
    assert reason["code"] == "schema_error"
    assert "planted refusal" in reason["message"]
    assert reason["entry_id"] == "CAND-1"
    assert count_events(env, "entry_rejected") == 1
    again = env.sweep()
    assert again.sweep.counts() == {k: 0 for k in again.sweep.counts()}
