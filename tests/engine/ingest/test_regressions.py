"""Regression tests of ingest's booking and dispatch checks: one (or a few) per bug that was
fixed, each on a real workspace. Every test fails on the code before its fix (the docstring
names what it pins) and passes on the fixed code; a test whose regression could block runs
it under a deadline, so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import pytest
from helpers.workspace import (
    Env,
    edit_config,
    entry,
    rejected_rows,
    rejection_reason,
    t,
    work_package,
)

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 16: booking and dispatch checks ------------------------------------------------------------

OTHER_PRINCIPAL = "  agent:verifier:      {roles: [verifier]}\n"


LANES = "lanes:                           # how the runner launches the agent of a lane"


def test_rollback_plan_lanes_and_lane_of_the_dispatch_target(env: Env) -> None:
    """ingest: a deep WP needs a rollback plan, a WP's lane must be declared, and a dispatch
    target must serve the WP's lane."""
    edit_config(
        env,
        (OTHER_PRINCIPAL, OTHER_PRINCIPAL + "  agent:other: {roles: [worker], lanes: [other]}\n"),
        (LANES, 'lanes:\n  other:\n    command: ["true"]\n#'),
    )
    deep = """
        title: Deep without a rollback plan
        objective: o
        owner: agent:implementer-1
        accountable: human:owner
        tier: deep
        lane: implementation
        validation_commands: ["true"]
    """
    nowhere = """
        title: On an undeclared lane
        objective: o
        owner: agent:implementer-1
        accountable: human:owner
        tier: standard
        lane: nowhere
    """
    env.drop("a.yaml", work_package("WP-DEEP", body=deep, created=t(0)))
    env.drop("b.yaml", work_package("WP-LANE", body=nowhere, created=t(1)))
    env.drop("c.yaml", work_package("WP-1", created=t(2)))
    env.drop(
        "d.yaml", entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:other", created=t(3))
    )
    summary = env.single_sweep()
    assert (summary.sweep.ingested, summary.sweep.rejected) == (1, 3), summary.sweep.log
    codes = {r["entry_id"]: r["code"] for r in rejected_rows(env)}
    assert codes == {
        "WP-DEEP": "schema_error",
        "WP-LANE": "schema_error",
        "DSP-1": "capability_denied",
    }
    assert "rollback_plan" in rejection_reason(env, "a.yaml")["message"]
    assert "nowhere" in rejection_reason(env, "b.yaml")["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"
    assert env.wp("WP-DEEP") is None and env.wp("WP-LANE") is None
