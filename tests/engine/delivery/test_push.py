"""Delivery by push and by pull request (SPEC 11.3), on real git with a bare "remote" beside
the target repo (a local path) and the stand-in `gh` (tests/standins/gh/bin/gh)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.delivery import (
    Target,
    complete_wp,
    gh_log,
    gh_on_path,
    no_gh_on_path,
    set_delivery,
    with_runner_key,
)
from helpers.git import git
from helpers.workspace import Env

from cockpit.engine import delivery
from cockpit.engine.delivery.body import fence
from cockpit.errors import Refused

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def deliver(target: Target, via: str) -> delivery.Delivered:
    with target.env.store() as store:
        return delivery.deliver(target.env.ws, store, "WP-1", "human:owner", via)


def refused(target: Target, via: str) -> str:
    with pytest.raises(Refused) as caught:
        deliver(target, via)
    return str(caught.value)


def test_push_puts_the_verified_head_on_the_remote_branch(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    # The WP's branch moved on after the acceptance: the verified head is pushed, not it.
    (target.worktree / "late.txt").write_text("after the review\n")
    git(target.worktree, "add", "late.txt")
    git(target.worktree, "commit", "-q", "-m", "late")
    done = deliver(target, "push")
    assert target.remote_tip("wp/WP-1") == target.head
    assert target.remote_tip("main") == target.base  # nothing else moved
    payload = done.event.payload
    assert (payload["via"], payload["remote"], payload["remote_ref"]) == (
        "push",
        "origin",
        "refs/heads/wp/WP-1",
    )
    assert payload["head"] == target.head and payload["validated"] is False
    with env.store() as store, pytest.raises(Refused, match="only a pr may follow a push"):
        delivery.plan(env.ws, store, "WP-1", "push")


def test_a_remote_branch_with_other_history_is_refused_and_never_forced(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(target.remote), str(other))
    git(other, "config", "user.name", "Someone")
    git(other, "config", "user.email", "someone@example.invalid")
    git(other, "commit", "-q", "--allow-empty", "-m", "someone else's work")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/wp/WP-1")
    theirs = target.remote_tip("wp/WP-1")
    reason = refused(target, "push")
    assert reason.startswith(f"origin already has wp/WP-1 at {theirs[:12]}")  # type: ignore[index]
    assert "never force-pushed" in reason
    assert target.remote_tip("wp/WP-1") == theirs
    [event] = target.events("delivery_refused")
    assert (event.payload["via"], event.payload["reason"]) == ("push", reason)
    assert not target.events("delivered")


def test_pr_pushes_then_opens_a_pull_request_written_from_the_record(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_runner_key(env, tmp_path / "keys")
    summary = "did it ```` `rm -rf` [click](https://evil.example) <img src=x> @everyone"
    target = complete_wp(env, tmp_path, summary=summary)
    log = tmp_path / "gh.jsonl"
    gh_on_path(monkeypatch, log)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "leaks into gh")  # never passed on
    done = deliver(target, "pr")
    payload = done.event.payload
    assert payload["url"] == "https://github.com/standin/remote/pull/1"
    assert target.remote_tip("wp/WP-1") == target.head
    calls = gh_log(log)
    assert [c["command"] for c in calls] == ["auth status", "pr create", "pr view"]
    assert payload["pr_head"] == target.head  # GitHub shows the head that was pushed
    created = calls[1]
    argv = created["argv"][1:]
    assert argv[:8] == [
        "pr",
        "create",
        "--base",
        "main",
        "--head",
        "wp/WP-1",
        "--title",
        "WP-1: Task WP-1",
    ]
    assert argv[8] == "--body-file"
    assert "GIT_AUTHOR_NAME" not in created["env"]
    assert {"GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_NOSYSTEM"} <= set(created["env"])
    body = created["body"]
    # The gate's predicates, the packets' hashes, the reviews, the seq range, the checkpoint.
    verdict = target.events("verify_completed")[-1].payload
    for name, result in verdict["predicates"].items():
        assert re.search(rf"^{name}\s+{result['status']}\s", body, re.M), name
    assert verdict["claim"]["sha256"] in body
    assert all(e["sha256"] in body for e in verdict["evidence"])
    assert verdict["common_ground"]["sha256"] in body
    audit, checkpoint = payload["audit"], payload["checkpoint"]
    assert f"seq {audit['first_seq']} to {audit['last_seq']}" in body
    assert checkpoint["note"] and f"`{checkpoint['note']}`" in body
    assert checkpoint["merkle_root"] in body
    assert re.search(r"^seq \d+\s+human:owner\s+accepted\s+unsigned$", body, re.M)
    assert "`.cockpit/attestations/WP-1.intoto.json`" in body
    # The agent's summary only inside a fence longer than its longest run of backticks.
    assert fence(summary) in body
    assert "`````text\n" + summary + "\n`````" in body
    outside = body.replace(fence(summary), "")
    assert "evil.example" not in outside and "@everyone" not in outside


def test_a_missing_gh_is_a_clear_sentence_and_nothing_is_pushed(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    no_gh_on_path(monkeypatch)
    reason = refused(target, "pr")
    assert reason == (
        "the GitHub CLI (gh) is not installed or not on PATH, so nothing was pushed: install "
        "it and log in with `gh auth login`, or deliver with --via push"
    )
    assert target.remote_tip("wp/WP-1") is None
    assert [e.payload["reason"] for e in target.events("delivery_refused")] == [reason]


def test_gh_not_logged_in_is_a_clear_sentence_and_nothing_is_pushed(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    log = tmp_path / "gh.jsonl"
    gh_on_path(monkeypatch, log, logged_in=False)
    reason = refused(target, "pr")
    assert reason == (
        "the GitHub CLI is not logged in (gh auth status: You are not logged into any GitHub "
        "hosts. To log in, run: gh auth login), so nothing was pushed: log in with "
        "`gh auth login`, then deliver again"
    )
    assert target.remote_tip("wp/WP-1") is None
    assert [c["command"] for c in gh_log(log)] == ["auth status"]


def test_a_pull_request_may_follow_a_push_and_nothing_follows_it(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    pushed = deliver(target, "push")
    gh_on_path(monkeypatch, tmp_path / "gh.jsonl")
    opened = deliver(target, "pr")
    assert opened.event.payload["url"].startswith("https://github.com/standin/remote/pull/")
    assert [e.seq for e in target.events("delivered")] == [pushed.event.seq, opened.event.seq]
    reason = refused(target, "pr")
    assert reason.startswith(f"WP-1 was already delivered by pr at seq {opened.event.seq}")


def test_a_pull_request_gh_refuses_after_the_push_is_recorded_as_pushed_and_opened_again(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    log = tmp_path / "gh.jsonl"
    gh_on_path(monkeypatch, log)
    # GitHub refuses the pull request after the push (the stand-in's knob: gh's own words).
    refusal = 'a pull request for branch "wp/WP-1" into branch "main" already exists'
    monkeypatch.setenv("GH_STANDIN_CREATE_ERROR", refusal)
    reason = refused(target, "pr")
    assert reason == (
        f"gh pr create failed ({refusal}); wp/WP-1 was pushed to origin: deliver again "
        "with --via pr to open the pull request"
    )
    assert target.remote_tip("wp/WP-1") == target.head
    # The record says what the refusal left: the branch pushed.
    [event] = target.events("delivery_refused")
    assert event.payload["pushed"] == {
        "remote": "origin",
        "remote_ref": "refs/heads/wp/WP-1",
        "head": target.head,
        "new": True,
    }
    assert not target.events("delivered")
    monkeypatch.delenv("GH_STANDIN_CREATE_ERROR")
    done = deliver(target, "pr")
    assert done.event.payload["url"] == "https://github.com/standin/remote/pull/1"
    assert [c["options"]["base"] for c in gh_log(log) if c["command"] == "pr create"] == [
        "main",
        "main",
    ]


def test_a_pull_request_into_a_base_the_remote_lacks_is_refused_before_the_push(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    set_delivery(env, base="release")
    git(target.repo, "branch", "release", target.base)  # a local branch only
    log = tmp_path / "gh.jsonl"
    gh_on_path(monkeypatch, log)
    reason = refused(target, "pr")
    assert reason == (
        "origin has no branch release for the pull request to go into, so nothing was "
        "pushed: push it, or name the pull request's base in delivery.base"
    )
    assert target.remote_tip("wp/WP-1") is None
    assert [c["command"] for c in gh_log(log)] == ["auth status"]
    assert [e.type for e in target.env.events()[-1:]] == ["delivery_refused"]
