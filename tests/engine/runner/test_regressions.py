"""Regression tests of the runner: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from helpers.gate import Flow, verdicts
from helpers.process import clean_env, cockpit_cmd, kill_workspace_processes
from helpers.workspace import Env, t, work_package

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

HANG_LIMIT_S = 10.0


# -- 14: SIGTERM during validation --------------------------------------------------------------


def test_sigterm_during_validation_exits_promptly_and_records_no_verdict(env: Env) -> None:
    """runner/verification: shutdown interrupts the validation command, and the abandoned
    gate run is not recorded (the WP stays claimed for the next runner)."""
    flow = Flow(env).ready(validation_commands=["sleep 30"])
    claim_id = flow.claim(sweep=False)
    proc = subprocess.Popen(
        cockpit_cmd("run", "--workspace", str(env.root)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=env.root.parent,
        env=clean_env(),
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not any(e.entry_id == claim_id for e in env.events("WP-1")):
            assert proc.poll() is None, proc.communicate(timeout=HANG_LIMIT_S)
            assert time.monotonic() < deadline, "the runner did not ingest the claim"
            time.sleep(0.1)
        time.sleep(1.5)  # the gate's `sleep 30` is running
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=HANG_LIMIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=HANG_LIMIT_S)
            pytest.fail("the runner did not exit within 10 s of SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=HANG_LIMIT_S)
        kill_workspace_processes(env.root)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(r.get("log") == "stop" for r in records), out
    assert flow.state() == "claimed"
    assert not verdicts(env)
    assert not [e for e in env.events("WP-1") if e.type == "verify_started"]


def test_shadow_runner_verifies_a_claim_once_not_in_a_loop(env: Env) -> None:
    """A WP overridden into `claimed` (no new claim) is verified once per mode."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    assert env.cli("override", "WP-1", "--to", "claimed", "--reason", "re-check").code == 0
    config = env.root / "cockpit.yaml"
    config.write_text(config.read_text().replace("mode: live", "mode: shadow"))
    env.reload()
    for _ in range(3):
        env.sweep()
    verifies = [e for e in env.events("WP-1") if e.type == "verify_completed"]
    assert [v.payload["outcome"] for v in verifies] == ["skipped"]


def test_a_long_running_dry_run_logs_planned_events_without_seqs(env: Env) -> None:
    """runner.run_logged: a dry run's events are rolled back, so they are logged as the
    plan (`planned_event`, no seq), never as history."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    done = subprocess.run(
        cockpit_cmd("run", "--mode", "dry-run", "--workspace", str(env.root)),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    planned = [r for r in records if r["log"] == "planned_event"]
    assert [r["type"] for r in planned] == ["task_created"]
    assert "seq" not in planned[0]
    assert not [r for r in records if r["log"] == "event"]
    assert env.events() == []
