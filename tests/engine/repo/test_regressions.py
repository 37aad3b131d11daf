"""Regression tests of git and target repositories: one (or a few) per bug that was fixed, each
on a real workspace. Every test fails on the code before its fix (the docstring names what
it pins) and passes on the fixed code; a test whose regression could block runs it under a
deadline, so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers.gate import Flow
from helpers.git import make_repo
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repo another owner")
def test_a_target_repo_git_will_not_use_is_named_with_gits_reason(env: Env, tmp_path: Path) -> None:
    """worktrees.provision: a repo owned by another user is refused by git ("dubious
    ownership"); the WP is flagged with git's reason, not a misleading one."""
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True, timeout=60)
    Flow(env).book(target_repo=str(repo), owned_surfaces=["src/**"])
    failed = [e for e in env.events("WP-1") if e.type == "worktree_failed"]
    assert failed and all("dubious ownership" in e.payload["error"] for e in failed)
    wp = env.wp("WP-1")
    assert wp is not None and "dubious ownership" in wp["agent_problem"]
    # Tried again when the WP moves on or after a while, not on every run (a cron job).
    env.sweep()
    env.sweep()
    again = [e for e in env.events("WP-1") if e.type == "worktree_failed"]
    assert len(again) == len(failed)
