"""Refusals a reviewer found missing or leaky in delivery (SPEC 11.3), on real git and real
SQLite: a veto, a base that moved since the person confirmed, a file git does not track in
the checked-out base, an override after the acceptance, the arguments a signature names,
a signal during validation and the scratch worktree it leaves, repository config that
would run programs on a push, the pull request's body size and its head."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.delivery import (
    Target,
    complete_wp,
    gh_log,
    gh_on_path,
    owner_signer,
    set_sandbox,
)
from helpers.git import commit_all, git
from helpers.workspace import Env

from cockpit.engine import delivery
from cockpit.engine.actions import human
from cockpit.engine.delivery import body, push
from cockpit.engine.repo import gitops, verified
from cockpit.engine.trust.actions import Sign, SignedAction
from cockpit.errors import Refused

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def deliver(target: Target, via: str = "merge", sign: Sign | None = None) -> delivery.Delivered:
    with target.env.store() as store:
        return delivery.deliver(target.env.ws, store, "WP-1", "human:owner", via, sign)


def refused(target: Target, via: str = "merge", sign: Sign | None = None) -> str:
    with pytest.raises(Refused) as caught:
        deliver(target, via, sign)
    return str(caught.value)


def new_events(env: Env, since: int) -> list[str]:
    return [e.type for e in env.events() if e.seq > since]


def last_seq(env: Env) -> int:
    return env.events()[-1].seq


def test_an_active_veto_stops_the_plan_and_the_delivery(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    vetoed = env.cli("veto", "WP-1", "--reason", "hold it", "--as", "human:owner")
    assert vetoed.code == 0, vetoed.err
    before = target.tip()
    with env.store() as store, pytest.raises(Refused) as planned:
        delivery.plan(env.ws, store, "WP-1")
    sentence = (
        "WP-1 has an active veto, so it is not delivered: lift it first "
        "(cockpit veto WP-1 --lift --reason ...)"
    )
    assert str(planned.value) == sentence
    assert refused(target) == sentence
    assert target.tip() == before
    assert [e.payload["reason"] for e in target.events("delivery_refused")] == [sentence]


def test_a_veto_raised_while_the_owner_confirms_refuses_before_the_base_moves(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    before = target.tip()

    def veto_meanwhile(doc: dict[str, Any]) -> SignedAction | None:
        with env.store() as store:  # someone else, while the person takes their time
            human.veto(env.ws, store, "WP-1", "wait", "human:owner")
        return None  # unsigned (the policy is optional here)

    reason = refused(target, sign=veto_meanwhile)
    assert reason.startswith("WP-1 changed while it was being delivered: WP-1 has an active veto")
    assert target.tip() == before
    assert target.events("delivery_refused")[-1].payload["reason"] == reason


def test_a_base_that_moved_since_the_owner_confirmed_is_refused(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    confirmed = target.tip()
    seen: dict[str, Any] = {}

    def slow(doc: dict[str, Any]) -> SignedAction | None:
        seen.update(doc)
        seen["moved"] = target.commit_on_main("docs/other.md", "someone else's\n", "unreviewed")
        return None

    reason = refused(target, sign=slow)
    assert seen["args"]["base_sha"] == confirmed
    assert reason == (
        f"main moved from {confirmed[:12]} to {seen['moved'][:12]} since the delivery was "
        "confirmed, so nothing was changed: deliver again"
    )
    assert target.tip() == seen["moved"]  # not merged into
    assert target.events("delivery_refused")[-1].payload["reason"] == reason
    # Delivering again confirms the new tip, and goes.
    done = deliver(target)
    assert done.event.payload["expected_base_sha"] == seen["moved"]


def _moving_validation(repo: Path, flag: Path) -> str:
    """Commits on the target repo's main while validating, once (the flag is its switch)."""
    move = f"git -C {repo} commit -q --allow-empty -m 'moved during validation'"
    return f"grep -q changed src/app.py && {{ test ! -f {flag} || {{ rm {flag} && {move}; }}; }}"


def test_the_merge_queues_start_over_records_the_signed_and_the_landed_base_and_verifies(
    env: Env, tmp_path: Path
) -> None:
    set_sandbox(env, "off")
    flag = tmp_path / "move-main"
    target = complete_wp(env, tmp_path, validation=[_moving_validation(tmp_path / "repo", flag)])
    sign = owner_signer(env, tmp_path / "keys")
    confirmed = target.tip()
    flag.touch()
    done = deliver(target, sign=sign)
    payload = done.event.payload
    moved = git(target.repo, "rev-parse", "main^1")
    assert (payload["attempts"], payload["expected_base_sha"], payload["base_sha"]) == (
        2,
        confirmed,
        moved,
    )
    assert payload["signature"]["signed"]["args"]["base_sha"] == confirmed
    audit = env.cli("audit", "verify", "--json")
    assert audit.code == 0, audit.out
    assert audit.json()["signatures"]["bad"] == 0
    replay = env.cli("replay", "--json")
    assert replay.code == 0, replay.out


def test_an_ignored_file_in_the_checked_out_base_is_never_overwritten(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path, files={"src/local_settings.py": "SECRET = 'agent'\n"})
    exclude = target.repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("src/local_settings.py\n")
    (target.repo / "src/local_settings.py").write_text("SECRET = 'owner-only'\n")
    before, seq = target.tip(), last_seq(env)
    reason = refused(target)
    assert reason == (
        f"main is checked out in {target.repo}, where the delivery would overwrite files git "
        "does not track (src/local_settings.py), so nothing was changed: move them aside, "
        "then deliver again"
    )
    assert (target.repo / "src/local_settings.py").read_text() == "SECRET = 'owner-only'\n"
    assert target.tip() == before
    # Refused before the checkpoint: the refusal is all the record gains.
    assert new_events(env, seq) == ["delivery_refused"]


def test_an_override_after_the_acceptance_leaves_nothing_to_deliver(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    reopened = env.cli("override", "WP-1", "--to", "in_progress", "--reason", "redo", "--as",
                       "human:owner")  # fmt: skip
    assert reopened.code == 0, reopened.err
    (target.worktree / "src/app.py").write_text("print('B')\n")
    commit_all(target.worktree, "B")
    closed = env.cli("override", "WP-1", "--to", "complete", "--reason", "B is fine", "--as",
                     "human:owner")  # fmt: skip
    assert closed.code == 0, closed.err
    [override] = [e for e in env.events("WP-1") if e.type == "override_applied"][:1]
    with env.store() as store:
        assert verified.verified_head_at_acceptance(store, "WP-1") is None
    before = target.tip()
    reason = refused(target)
    assert reason == (
        f"WP-1 was moved by an override at seq {override.seq} after its last admitting gate "
        "run, so no review accepted a verified head since and nothing can be delivered: have "
        "it verified and accepted again"
    )
    assert target.tip() == before


def test_signed_args_that_are_not_this_deliverys_are_one_sentence_and_change_nothing(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    sign = owner_signer(env, tmp_path / "keys")
    refs = git(target.repo, "for-each-ref", "--format=%(refname)", "refs/cockpit/verified/")
    for ref in refs.splitlines():
        git(target.repo, "update-ref", "-d", ref)  # gone: a delivery would put it back

    def other_head(doc: dict[str, Any]) -> SignedAction | None:
        doc = copy.deepcopy(doc)
        doc["args"]["head"] = "0" * 40
        return sign(doc)

    seq = last_seq(env)
    reason = refused(target, sign=other_head)
    assert reason == (
        f"the signed delivery names the head {'0' * 40}, but it is {target.head} now, so "
        "nothing was done: confirm it again"
    )
    assert new_events(env, seq) == []
    # No ref was written before the signature held.
    assert git(target.repo, "for-each-ref", "refs/cockpit/verified/") == ""
    done = deliver(target, sign=sign)
    assert git(target.repo, "for-each-ref", "--format=%(objectname)", "refs/cockpit/verified/")
    assert done.event.payload["head"] == target.head


def _worktrees(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [x.removeprefix("worktree ") for x in out.splitlines() if x.startswith("worktree ")]


def test_a_scratch_worktree_a_killed_delivery_left_is_removed_by_the_next(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    left = env.root / ".cockpit" / "merge-queue" / "WP-1-killed"
    left.parent.mkdir(parents=True, exist_ok=True)
    git(target.repo, "worktree", "add", "-q", "--detach", str(left), target.base)  # as left
    deliver(target)
    assert not any((env.root / ".cockpit" / "merge-queue").iterdir())
    assert sorted(_worktrees(target.repo)) == sorted([str(target.repo), str(target.worktree)])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_validation_refuses_kills_the_command_and_leaves_no_scratch(
    env: Env, tmp_path: Path, sig: signal.Signals
) -> None:
    go, started = tmp_path / "go", tmp_path / "validating"
    slow = f"touch {started} && sleep 37.25"
    set_sandbox(env, "off")  # the validation writes its flag outside the scratch worktree
    target = complete_wp(
        env,
        tmp_path,
        validation=[f"grep -q changed src/app.py && {{ test ! -f {go} || {{ {slow}; }}; }}"],
    )
    go.touch()  # the gate ran quickly; the merge queue's re-run will take its time
    before = target.tip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "deliver", "WP-1", "--workspace", str(env.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COCKPIT_PRINCIPAL": "human:owner"},
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, (out, err)
    stopped = "the delivery was stopped (by a signal) before the base moved, so nothing was changed"
    assert err.strip() == f"cockpit: {stopped}."
    assert target.tip() == before
    assert not any((env.root / ".cockpit" / "merge-queue").iterdir())
    assert sorted(_worktrees(target.repo)) == sorted([str(target.repo), str(target.worktree)])
    assert target.events("delivery_refused")[-1].payload["reason"] == stopped
    running = subprocess.run(["pgrep", "-f", "sleep 37.25"], capture_output=True, text=True)
    assert running.stdout == ""


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("remote.origin.receivepack", "touch {marker}; git-receive-pack"),
        ("remote.origin.uploadpack", "touch {marker}; git-upload-pack"),
        ("core.sshCommand", "touch {marker}; ssh"),
        ("credential.helper", "!touch {marker}"),
        ("url.{marker}.insteadOf", "{remote}"),
    ],
)
def test_repository_config_that_would_run_programs_on_a_push_refuses_it(
    env: Env, tmp_path: Path, key: str, value: str
) -> None:
    target = complete_wp(env, tmp_path)
    marker = tmp_path / "PWNED"
    key = key.format(marker=marker)
    git(target.repo, "config", key, value.format(marker=marker, remote=target.remote))
    reason = refused(target, "push")
    shown = f"url.{marker}.insteadof" if key.startswith("url.") else key.lower()
    assert reason.startswith(f"{target.repo}'s own git config sets {shown}, which a push")
    assert not marker.exists()
    assert target.remote_tip("wp/WP-1") is None
    assert target.events("delivery_refused")[-1].payload["reason"] == reason


def test_gh_and_its_git_run_with_the_safety_settings(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    seen = push.gh_environment(target.repo)
    count = int(seen["GIT_CONFIG_COUNT"])
    settings = {seen[f"GIT_CONFIG_KEY_{n}"]: seen[f"GIT_CONFIG_VALUE_{n}"] for n in range(count)}
    assert settings["core.hooksPath"] == "/dev/null"
    assert settings["core.fsmonitor"] == ""
    assert settings["protocol.ext.allow"] == "never"
    # The git gh runs reads them as -c settings.
    shown = subprocess.run(
        ["git", "config", "core.hooksPath"], env=seen, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "/dev/null"
    assert set(gitops.SAFETY) == {f"{k}={v}" for k, v in settings.items()}


def test_a_pull_request_body_is_cut_under_githubs_limit_agent_text_first(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path, summary="x" * 120_000)
    log = tmp_path / "gh.jsonl"
    gh_on_path(monkeypatch, log)
    deliver(target, "pr")
    [created] = [c for c in gh_log(log) if c["command"] == "pr create"]
    text = created["body"]
    assert len(text) <= body.BODY_MAX < 65_536
    assert "[… cut: " in text and "characters of the agent's text above were left out" in text
    # What Cockpit wrote from the record is all there.
    assert "**Objective:**" in text and "### The record" in text and target.head in text
    assert "x" * 1000 in text  # the agent's text is cut, not dropped


def test_a_pull_request_whose_head_github_shows_otherwise_is_refused_and_recorded(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    gh_on_path(monkeypatch, tmp_path / "gh.jsonl")
    monkeypatch.setenv("GH_STANDIN_VIEW_HEAD", "a" * 40)  # the branch moved meanwhile
    reason = refused(target, "pr")
    url = "https://github.com/standin/remote/pull/1"
    assert reason == (
        f"the pull request {url} shows head {'a' * 12}, not the verified head "
        f"{target.head[:12]} (its branch moved on origin): close it, then deliver again"
    )
    [event] = target.events("delivery_refused")
    assert event.payload["url"] == url
    assert event.payload["pushed"]["head"] == target.head
    assert not target.events("delivered")


@pytest.mark.parametrize("planted", ["driver", "union"])
def test_a_merge_driver_or_merge_attribute_the_repository_plants_refuses_a_merge(
    env: Env, tmp_path: Path, planted: str
) -> None:
    """An agent can write the shared git directory: a merge driver in its config would run
    outside any sandbox while the merge queue merges; `merge=union` in info/attributes
    would hide a conflict."""
    target = complete_wp(env, tmp_path)
    marker = tmp_path / "PWNED"
    attributes = target.repo / ".git" / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    if planted == "driver":
        git(target.repo, "config", "merge.evil.driver", f"touch {marker}; cp %B %A; true")
    attributes.write_text("*.py merge=evil\n" if planted == "driver" else "*.py merge=union\n")
    target.commit_on_main("src/app.py", "print('main too')\n")  # a conflict to merge
    before, seq = target.tip(), last_seq(env)
    reason = refused(target)
    if planted == "driver":
        assert reason.startswith(
            f"{target.repo}'s own git config defines the merge driver merge.evil.driver"
        )
    else:
        assert reason.startswith(f"{target.repo / '.git'}/info/attributes chooses how paths")
    assert not marker.exists()
    assert target.tip() == before
    assert new_events(env, seq) == ["delivery_refused"]
