"""Ingest as a pipeline: git runs while an entry is prepared, never while it is planned in the
store's write transaction; a WP that moves in between makes the preparation stale."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers.gate import Flow, scoped_flow
from helpers.git import commit_all
from helpers.workspace import Env, entry, t

from cockpit.domain import EventType
from cockpit.engine.actions import human
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.ingest.pipeline import StalePreparation, plan_entry, prepare

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def accepted_wp(env: Env, tmp_path: Path) -> Flow:
    """WP-1 with a target repo, an in-scope commit in its worktree, admitted by the gate."""
    flow, worktree, _ = scoped_flow(env, tmp_path)
    (worktree / "src").mkdir(exist_ok=True)
    (worktree / "src" / "app.py").write_text("print('the admitted change')\n")
    commit_all(worktree, "in scope")
    flow.claim()
    assert flow.state() == "accepted"
    return flow


def review_accepting(entry_id: str = "REV-ACC") -> bytes:
    text = entry("review", entry_id, "WP-1", "human:reviewer", "verdict: accepted", created=t(50))
    return text.encode()


def test_planning_a_review_that_accepts_a_wp_runs_no_git(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted_wp(env, tmp_path)
    parsed = parse_entry(review_accepting(), "rev.yaml")
    with env.store() as store:
        prepared = prepare(parsed, env.ws, store)  # git runs here: the admitted work
        assert prepared.refusal is None, prepared.refusal
        assert prepared.basis is not None and prepared.basis[0] == "accepted"
        # From here on no git can be found: planning must not need it.
        monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
        with store.transaction(commit=False):
            plan = plan_entry(parsed, env.ws.config, store, prepared)
    assert [e.type for e in plan.events] == [EventType.REVIEW_RECORDED, EventType.TASK_COMPLETED]
    assert plan.events[1].payload["transition"] == {"from": "accepted", "to": "complete"}


def test_a_wp_that_moves_after_its_review_was_prepared_makes_it_stale(
    env: Env, tmp_path: Path
) -> None:
    accepted_wp(env, tmp_path)
    parsed = parse_entry(review_accepting(), "rev.yaml")
    with env.store() as store:
        prepared = prepare(parsed, env.ws, store)
        human.override(env.ws, store, "WP-1", "claimed", "look again", "human:owner")
        with pytest.raises(StalePreparation), store.transaction(commit=False):
            plan_entry(parsed, env.ws.config, store, prepared)


def test_the_sweep_prepares_and_ingests_a_review_that_accepts_a_wp(
    env: Env, tmp_path: Path
) -> None:
    accepted_wp(env, tmp_path)
    env.drop("rev.yaml", review_accepting())
    summary = env.sweep()
    assert summary.sweep.ingested == 1, summary.sweep.log
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "complete"


def test_a_review_of_changed_admitted_work_is_rejected_as_bad_ref_by_the_sweep(
    env: Env, tmp_path: Path
) -> None:
    accepted_wp(env, tmp_path)
    worktree = env.root / "worktrees" / "WP-1"
    (worktree / "src" / "app.py").write_text("print('changed after the verdict')\n")
    env.drop("rev.yaml", review_accepting())
    summary = env.sweep()
    assert summary.sweep.rejected == 1, summary.sweep.log
    [logged] = [r for r in summary.sweep.log if r["outcome"] == "rejected"]
    assert logged["code"] == "bad_ref"
    assert "changed since the gate admitted it" in logged["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "accepted"


def test_a_review_whose_target_repository_is_gone_is_rejected_not_left_in_cur(
    env: Env, tmp_path: Path
) -> None:
    """The target repository is gone when a review accepting its WP is prepared (a batch
    of its own, git outside the transaction): the entry is rejected with the reason, once;
    it is not an error left in queue/cur/ for every sweep to fail on again."""
    accepted_wp(env, tmp_path)
    shutil.rmtree(tmp_path / "repo" / ".git")
    env.drop("rev.yaml", review_accepting())
    summary = env.sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert summary.sweep.rejected == 1, summary.sweep.log
    assert os.listdir(env.ws.queue_dir("cur")) == []
    again = env.sweep()
    assert (again.sweep.rejected, again.sweep.errors) == (0, 0), again.sweep.log
