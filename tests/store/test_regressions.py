"""Regression tests of the store: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import sqlite3

import pytest
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 12: damaged checkpoint ---------------------------------------------------------------------


def test_a_damaged_checkpoint_fails_audit_verify(booked_to_in_progress: Env) -> None:
    """checkpoint.checkpoints: an unreadable checkpoint is a failure, not skipped."""
    env = booked_to_in_progress
    assert env.cli("audit", "checkpoint", "--json").code == 0
    intact = env.cli("audit", "verify", "--json")
    assert intact.code == 0 and intact.json()["ok"] is True, intact.out
    (env.ws.checkpoints_dir / "00000005.json").write_bytes(b"\x00{not json at all")
    broken = env.cli("audit", "verify", "--json")
    assert broken.code == 1, (broken.out, broken.err)
    document = broken.json()
    assert document["ok"] is False
    assert document["first_bad_seq"] is not None
    assert "00000005.json" in document["reason"]


# -- 20: from the server guide's trial run ------------------------------------------------------


def test_a_store_written_by_a_newer_cockpit_is_refused_not_downgraded(env: Env) -> None:
    """store.db: an older Cockpit must not rewrite a newer store's schema version."""
    env.sweep()
    with sqlite3.connect(env.ws.db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    result = env.cli("status", "--json")
    assert result.code == 1
    assert "newer Cockpit" in result.err and "99" in result.err
    with sqlite3.connect(env.ws.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
