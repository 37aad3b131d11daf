"""Regression tests of the verify gate: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import GOOD_EVIDENCE, Flow, admitted, scoped_flow, stopped_on, verdicts
from helpers.git import commit_all, git
from helpers.process import clean_env, cockpit_cmd, in_thread, unblock_fifos
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

HANG_LIMIT_S = 10.0


# -- 7: the gate decides on the facts it records -----------------------------------------------


def test_a_veto_raised_while_validation_runs_is_seen_by_the_gate(env: Env) -> None:
    """verification.run_gate: the WP read before a slow validation is stale by the time the
    verdict is recorded; the gate must re-evaluate on the WP as it is at recording time."""
    flow = Flow(env).ready(validation_commands=["sleep 2"])
    claim_id = flow.claim(sweep=False)
    box: dict[str, Any] = {}

    def sweep() -> None:
        box["summary"] = env.sweep()

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not any(e.entry_id == claim_id for e in env.events("WP-1")):
        assert time.monotonic() < deadline, "the runner did not ingest the claim"
        time.sleep(0.05)
    time.sleep(0.7)  # the gate run (validation: sleep 2) is in progress
    assert not verdicts(env), "the gate finished before the veto could be raised"
    vetoed = env.cli("veto", "WP-1", "--reason", "stop")
    assert vetoed.code == 0, vetoed.err
    thread.join(15)
    assert not thread.is_alive()
    assert "summary" in box
    [started] = [e for e in env.events("WP-1") if e.type == "verify_started"]
    [veto] = [e for e in env.events("WP-1") if e.type == "veto_changed"]
    assert veto.seq < started.seq
    assert flow.state() != "accepted"
    payload = stopped_on(env, "no_veto", "vetoed")
    assert "stop" in payload["predicates"]["no_veto"]["detail"]


# -- 8: advisory ids ----------------------------------------------------------------------------


def test_advisory_ids_of_claims_sharing_a_long_prefix_are_distinct(env: Env) -> None:
    """advisory.advisory_id: `ADV-<full claim id>`; a truncated id made the second claim's
    serious advisory look dismissed once the first one's was."""
    prefix = "CLM-" + "x" * 56
    first_id, second_id = prefix + "AAAA", prefix + "BBBB"
    assert len(first_id) == len(second_id) == 64 and first_id[:60] == second_id[:60]
    flow = Flow(env).book()
    flow.ground()
    flow.evidence(
        [
            *GOOD_EVIDENCE,
            {"class": "local_command_proof", "ref": "t", "command": "make slow", "exit_code": 1},
        ]
    )
    flow.claim(first_id)
    stopped_on(env, "advisories_treated", "advisory_untreated")
    dismissed = env.cli("dismiss", "WP-1", f"ADV-{first_id}", "--reason", "known flaky target")
    assert dismissed.code == 0, dismissed.err
    flow.recovery()
    flow.claim(second_id)
    issued = [e.payload["id"] for e in env.events("WP-1") if e.type == "advisory_issued"]
    assert issued == [f"ADV-{first_id}", f"ADV-{second_id}"]
    payload = stopped_on(env, "advisories_treated", "advisory_untreated")
    assert f"ADV-{second_id}" in payload["predicates"]["advisories_treated"]["detail"]
    assert payload["claim"]["id"] == second_id
    assert flow.state() == "blocked"


# -- 9: git in the worktree ---------------------------------------------------------------------


def test_scope_sees_forbidden_files_whose_names_git_would_quote(env: Env, tmp_path: Path) -> None:
    """verification.changed_files: NUL-separated output with core.quotePath off, so a path
    git would print quoted ("secrets/cl\\303\\251.pem") still matches `secrets/**`."""
    flow, worktree, _ = scoped_flow(env, tmp_path, owned_surfaces=["**"])
    accented = "secrets/clé.pem"
    quoted = 'secrets/a"b.pem'
    (worktree / accented).write_text("committed\n")
    commit_all(worktree, "a key with an accent")
    (worktree / quoted).write_text("untracked\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == sorted([accented, quoted])
    detail = payload["predicates"]["scope_respected"]["detail"]
    assert accented in detail and quoted in detail


def test_the_gate_never_runs_a_repo_configured_fsmonitor(env: Env, tmp_path: Path) -> None:
    """verification._git: `-c core.fsmonitor=` defuses a hook an agent configured in the
    repository; plain git in the same worktree does run it (the control at the end). The
    claim fails on scope_respected: the agent changed the shared config."""
    flow, worktree, _ = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    commit_all(worktree, "in scope")
    marker = tmp_path / "FSMON_RAN"
    git(worktree, "config", "core.fsmonitor", f"touch {marker}")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == ["src/app.py"]
    assert ".git/config" in payload["predicates"]["scope_respected"]["detail"]
    assert not marker.exists(), "the gate ran the repository's fsmonitor hook"
    git(worktree, "status", "--porcelain")  # control: the hook is live for plain git
    assert marker.exists()


# -- 10: a FIFO in the work product -----------------------------------------------------------


def test_a_fifo_in_the_work_product_does_not_hang_the_gate(env: Env) -> None:
    """verification.snapshot/_digest: special files are fingerprinted from lstat."""
    flow = Flow(env).ready(validation_commands=["true"])
    fifo = env.root / "pipe"
    os.mkfifo(fifo)
    flow.claim(sweep=False)
    in_thread(env.sweep, HANG_LIMIT_S, lambda: unblock_fifos([fifo]))
    payload = admitted(env)
    assert [r["exit_code"] for r in payload["validation"]] == [0]
    assert fifo.exists()


# -- 18: the environment of validation commands ------------------------------------------------


def test_validation_commands_do_not_inherit_the_runners_secrets(env: Env) -> None:
    """verification.validation_env: an allow-list (PATH, HOME, ...), not the runner's whole
    environment."""
    flow = Flow(env).ready(
        validation_commands=[
            'test -z "$AWS_SECRET_ACCESS_KEY"',
            'test -z "$COCKPIT_TEST_SECRET"',
            'test -n "$PATH"',
        ]
    )
    flow.claim(sweep=False)
    done = subprocess.run(
        cockpit_cmd("run", "--once", "--json", "--workspace", str(env.root)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=env.root.parent,
        stdin=subprocess.DEVNULL,
        env=clean_env(COCKPIT_TEST_SECRET="s3cret", AWS_SECRET_ACCESS_KEY="AKIA-not-real"),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["admitted"] == 1, done.stdout
    payload = admitted(env)
    assert [r["exit_code"] for r in payload["validation"]] == [0, 0, 0]


def test_validation_commands_find_the_runners_interpreter_first(env: Env) -> None:
    """verification.validation_env: `python3` in a booked validation command is the
    runner's interpreter (as for agents), whatever PATH the service has."""
    here = Path(sys.executable).parent
    flow = Flow(env).ready(
        validation_commands=[f'test "$(dirname "$(command -v python3)")" = "{here}"']
    )
    flow.claim()
    payload = admitted(env)
    assert payload["validation"][0]["exit_code"] == 0
