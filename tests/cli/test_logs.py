"""`cockpit logs WP [-f] [--run N]` (SPEC 8, 9.1) as a user runs it: in a terminal beside
a running runner, following an agent's run as it prints, and its one-sentence errors."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch
from helpers.drivers import set_driver_lane
from helpers.git import new_repo
from helpers.process import clean_env, cockpit_cmd
from helpers.workspace import Env, work_package

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def test_logs_f_follows_a_running_agent_from_before_its_first_line(
    env: Env, tmp_path: Path
) -> None:
    """Started right after the dispatch (no run yet), `logs -f` waits for the first run,
    prints its lines as the agent prints them, and exits when the run ends."""
    set_driver_lane(
        env, "claude-code", "--standin", "slow", "--standin-lines", "8",
        "--standin-delay", "0.3", "--standin-edit", "src/standin.txt", standing_go=False,
    )  # fmt: skip
    repo, _ = new_repo(tmp_path)
    drop_booking(env, repo)
    env.sweep()  # booked; the dispatch comes next, the runner with it
    drop_dispatch(env)
    environment = clean_env(COCKPIT_WORKSPACE=str(env.root))
    follow = subprocess.Popen(
        cockpit_cmd("logs", "WP-1", "-f"),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        runner = subprocess.run(
            cockpit_cmd("run", "--once"), env=environment, capture_output=True, timeout=120
        )
        assert runner.returncode == 0, runner.stderr
        out, err = follow.communicate(timeout=30)
    finally:
        follow.kill()
    assert follow.returncode == 0, err
    assert "waiting for the first agent run of WP-1" in err
    lines = out.splitlines()
    assert sum("step" in line for line in lines) >= 8, out  # every slow line, in order
    assert "run ended: exit 0" in lines[-1]


def test_logs_errors_are_one_sentence(env: Env) -> None:
    missing = env.cli("logs", "WP-9")
    assert missing.code == 2 and "no work package WP-9" in missing.err
    env.drop("wp.yaml", work_package("WP-1"))
    env.sweep()
    none = env.cli("logs", "WP-1")
    assert none.code == 2 and "no agent transcript yet" in none.err
    assert len(none.err.strip().splitlines()) == 1
