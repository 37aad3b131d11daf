"""Delivery by merge, as a merge queue does it (SPEC 11.3), on real git: the verified head is
merged onto the base's current tip in a scratch worktree, validation re-runs there, and the
base moves only by compare-and-swap; every refusal leaves the base where it was and records
`delivery_refused`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.delivery import Target, complete_wp, set_delivery, set_sandbox
from helpers.git import git
from helpers.workspace import Env

from cockpit.engine import delivery
from cockpit.errors import Refused

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def deliver(
    target: Target, via: str | None = "merge", by: str = "human:owner"
) -> delivery.Delivered:
    env = target.env
    with env.store() as store:
        return delivery.deliver(env.ws, store, "WP-1", by, via)


def refused(target: Target, via: str | None = "merge") -> str:
    with pytest.raises(Refused) as caught:
        deliver(target, via)
    return str(caught.value)


def worktrees_of(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [
        line.removeprefix("worktree ") for line in out.splitlines() if line.startswith("worktree ")
    ]


def assert_no_scratch_left(target: Target) -> None:
    scratch = target.env.root / ".cockpit" / "merge-queue"
    assert not scratch.exists() or not any(scratch.iterdir())
    assert sorted(worktrees_of(target.repo)) == sorted([str(target.repo), str(target.worktree)])


def test_a_base_that_moved_without_conflict_is_merged_validated_and_advanced(
    env: Env, tmp_path: Path
) -> None:
    # The validation holds on the merged tree only if both changes are in it.
    target = complete_wp(
        env,
        tmp_path,
        validation=[
            "grep -q changed src/app.py"
            " && { test ! -f docs/extra.md || grep -q more docs/extra.md; }"
        ],
    )
    moved = target.commit_on_main("docs/extra.md", "more docs\n")
    with env.store() as store:
        planned = delivery.plan(env.ws, store, "WP-1")
    assert (planned.via, planned.base, planned.base_sha, planned.head) == (
        "merge",
        "main",
        moved,
        target.head,
    )
    assert [c.sha for c in planned.commits] == [target.head]
    assert planned.checked_out == target.repo

    done = deliver(target)

    merge_sha = target.tip()
    assert git(target.repo, "rev-parse", f"{merge_sha}^1") == moved
    assert git(target.repo, "rev-parse", f"{merge_sha}^2") == target.head
    assert git(target.repo, "log", "-1", "--format=%an", merge_sha) == "Cockpit"
    # main is checked out in the repo: its files moved with it, and it is clean.
    assert (target.repo / "src/app.py").read_text() == "print('changed')\n"
    assert (target.repo / "docs/extra.md").read_text() == "more docs\n"
    assert git(target.repo, "status", "--porcelain") == ""
    payload = done.event.payload
    assert payload["via"] == "merge"
    assert (payload["base"], payload["base_sha"], payload["head"]) == ("main", moved, target.head)
    assert payload["merge_sha"] == merge_sha
    assert payload["validated"] is True
    assert [r["exit_code"] for r in payload["validation"]] == [0]
    assert payload["attempts"] == 1
    assert done.event.type == "delivered" and done.event.principal == "human:owner"
    assert payload["signature"] == {"unsigned": True}
    assert payload["checkpoint"]["size"] < done.event.seq
    # No runner key here: the checkpoint is not signed and no attestation is written.
    assert payload["checkpoint"]["note"] is None and payload["attestation"] is None
    assert_no_scratch_left(target)


def test_a_conflict_is_refused_and_the_base_is_unchanged(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    moved = target.commit_on_main("src/app.py", "print('main changed it too')\n")
    reason = refused(target)
    assert "conflicts with main" in reason and "src/app.py" in reason
    assert "nothing was changed" in reason
    assert target.tip() == moved
    assert git(target.repo, "status", "--porcelain") == ""
    [event] = target.events("delivery_refused")
    assert event.payload["via"] == "merge"
    assert event.payload["reason"] == reason
    assert event.payload["head"] == target.head
    assert not target.events("delivered")
    assert_no_scratch_left(target)


def test_a_merged_tree_that_fails_validation_is_refused(env: Env, tmp_path: Path) -> None:
    # Passes on the WP's own tree; fails once main's new file is merged in.
    target = complete_wp(env, tmp_path, validation=["test ! -f docs/forbidden.md"])
    moved = target.commit_on_main("docs/forbidden.md", "breaks the check\n")
    reason = refused(target)
    assert reason.startswith("validation failed on main merged with WP-1")
    assert "`test ! -f docs/forbidden.md` exited 1" in reason
    assert target.tip() == moved
    assert [e.payload["reason"] for e in target.events("delivery_refused")] == [reason]
    assert_no_scratch_left(target)


def _moving_validation(target_repo: Path, flag: Path, *, once: bool) -> str:
    """A validation command that commits to the target repo's main while it runs, once the
    test sets `flag` (not during the gate's own run). It can only do that outside the
    sandbox (runner.sandbox: off, the owner's explicit choice, SPEC 10.3): inside it the
    repository is read-only, as it must be."""
    move = f"git -C {target_repo} commit -q --allow-empty -m 'moved during validation'"
    if once:
        move = f"{{ rm {flag} && {move}; }}"
    return f"grep -q changed src/app.py && {{ test ! -f {flag} || {move}; }}"


def test_a_base_that_moves_during_validation_is_retried_once_then_refused(
    env: Env, tmp_path: Path
) -> None:
    set_sandbox(env, "off")
    flag = tmp_path / "move-main"
    target = complete_wp(
        env, tmp_path, validation=[_moving_validation(tmp_path / "repo", flag, once=False)]
    )
    before = target.tip()
    flag.touch()
    reason = refused(target)
    assert reason == (
        "main moved twice while WP-1 was being merged and validated, so nothing was changed: "
        "deliver again"
    )
    # main holds the two commits the validation made, and no merge.
    assert git(target.repo, "rev-list", "--count", f"{before}..main") == "2"
    assert git(target.repo, "log", "--merges", "--format=%H", "main") == ""
    assert [e.payload["reason"] for e in target.events("delivery_refused")] == [reason]
    assert_no_scratch_left(target)


def test_a_base_that_moves_once_during_validation_is_merged_on_the_second_try(
    env: Env, tmp_path: Path
) -> None:
    set_sandbox(env, "off")
    flag = tmp_path / "move-main"
    target = complete_wp(
        env, tmp_path, validation=[_moving_validation(tmp_path / "repo", flag, once=True)]
    )
    flag.touch()
    done = deliver(target)
    assert done.event.payload["attempts"] == 2
    moved = git(target.repo, "rev-parse", "main^1")
    assert git(target.repo, "log", "-1", "--format=%s", moved) == "moved during validation"
    assert done.event.payload["base_sha"] == moved
    assert git(target.repo, "rev-parse", "main^2") == target.head


def test_a_dirty_checked_out_base_is_refused_before_anything_runs(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    before = target.tip()
    (target.repo / "README.md").write_text("# edited, not committed\n")
    reason = refused(target)
    assert f"main is checked out in {target.repo}, which has uncommitted changes" in reason
    assert target.tip() == before
    assert (target.repo / "README.md").read_text() == "# edited, not committed\n"
    assert [e.payload["reason"] for e in target.events("delivery_refused")] == [reason]
    assert_no_scratch_left(target)


def test_a_base_not_checked_out_is_moved_by_compare_and_swap(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    git(target.repo, "branch", "release", "main")
    set_delivery(env, base="release")
    main_before = target.tip("main")
    done = deliver(target)
    assert done.event.payload["base"] == "release"
    assert git(target.repo, "rev-parse", "release^2") == target.head
    assert target.tip("main") == main_before  # the checked-out branch did not move
    assert git(target.repo, "status", "--porcelain") == ""


def test_a_work_package_is_delivered_once(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    first = deliver(target)
    tip = target.tip()
    reason = refused(target, None)  # the config's default: merge
    assert reason == (
        f"WP-1 was already delivered by merge at seq {first.event.seq} ({tip}); a work "
        "package is delivered once (only a pr may follow a push)"
    )
    assert target.tip() == tip
    assert len(target.events("delivered")) == 1
    with env.store() as store, pytest.raises(Refused, match="already delivered"):
        delivery.plan(env.ws, store, "WP-1", "pr")


def test_only_a_complete_work_package_is_delivered_and_only_by_its_owner(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    with env.store() as store, pytest.raises(Refused, match="lacks the deliver capability"):
        delivery.deliver(env.ws, store, "WP-1", "human:reviewer", "merge")
    assert not target.events("delivery_refused")  # a refused capability records nothing
    git(target.repo, "branch", "other")
    result = env.cli(
        "override", "WP-1", "--to", "failed", "--reason", "test", "--as", "human:owner"
    )
    assert result.code == 0, result.err
    reason = refused(target)
    assert reason == "WP-1 is failed; only a complete work package is delivered"
    [event] = target.events("delivery_refused")
    assert event.payload == {
        "via": "merge",
        "reason": reason,
        "signature": {"unsigned": True},
    }


def test_the_merge_queues_validation_cannot_write_the_merged_tree(env: Env, tmp_path: Path) -> None:
    """The validation re-run runs in the WP's sandbox with the scratch worktree read-only:
    a command that writes there fails, and the delivery is refused."""
    from cockpit.engine.repo.sandbox import availability

    if not availability("auto").confined:
        pytest.skip("bubblewrap cannot make a sandbox here")
    # Passes in the WP's own worktree (no marker there); writes once main's marker is in.
    target = complete_wp(env, tmp_path, validation=["test ! -f marker || touch written.txt"])
    target.commit_on_main("marker", "merged in\n")
    reason = refused(target)
    assert "`test ! -f marker || touch written.txt` exited 1" in reason
    assert not (target.repo / "written.txt").exists()
    assert_no_scratch_left(target)
