"""Regression tests of entries (the `created` field): one (or a few) per bug that was fixed,
each on a real workspace. Every test fails on the code before its fix (the docstring names
what it pins) and passes on the fixed code; a test whose regression could block runs it
under a deadline, so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.workspace import Env, rejection_reason, t, work_package

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 5, 6: `created` ----------------------------------------------------------------------------

BAD_CREATED = [
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-12:00",  # after year 9999 in UTC
    "2026-13-45T10:00:00Z",  # not in the calendar
    "1700000000",  # a number, not a timestamp
    "2026-11-22 10:00:00 +05:00",  # YAML's timestamp syntax, not RFC 3339
]


def test_bad_created_values_are_schema_errors_and_the_runner_keeps_going(env: Env) -> None:
    """entries.Entry._rfc3339: strict RFC 3339 (no YAML timestamp magic), and a moment
    that overflows in UTC is a schema error, not an exception in the sweep."""
    for i, value in enumerate(BAD_CREATED):
        env.drop(f"bad-{i}.yaml", work_package(f"WP-B{i}", created=value))
    env.drop("good.yaml", work_package("WP-OK", created=t(0)))
    summary = env.single_sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert summary.sweep.rejected == len(BAD_CREATED), summary.sweep.log
    assert summary.sweep.ingested == 1, summary.sweep.log
    assert env.wp("WP-OK") is not None
    for i, value in enumerate(BAD_CREATED):
        why = rejection_reason(env, f"bad-{i}.yaml")
        assert why["code"] == "schema_error", (value, why)
        assert "created" in why["message"], (value, why)
        assert env.wp(f"WP-B{i}") is None
    assert os.listdir(env.new) == [] and os.listdir(env.ws.queue_dir("cur")) == []


@pytest.mark.parametrize("value", BAD_CREATED)
def test_submit_refuses_a_bad_created_in_one_line(env: Env, tmp_path: Path, value: str) -> None:
    source = tmp_path / "entry.yaml"
    source.write_text(work_package("WP-1", created=value))
    result = env.cli("submit", str(source))
    assert result.code == 2, (result.out, result.err)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "schema_error" in result.err
    assert "Traceback" not in result.err + result.out
    assert os.listdir(env.new) == []
