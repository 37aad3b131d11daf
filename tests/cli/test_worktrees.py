"""`cockpit worktrees`, `worktrees prune` and `worktrees approve-setup`, and the runner's
own pruning after keep_days (SPEC 11.4), on a real workspace, a real target repository
and the worktrees the real runner made.

The scene: WP-1 cancelled (clean), WP-2 cancelled with an uncommitted edit, WP-3
delivered, WP-4 complete but not delivered, WP-5 still at work; orphans: worktrees/WP-99
on branch wp/WP-99, a lone branch wp/WP-98, and a directory worktrees/stray that is no
worktree at all; a verified head under refs/cockpit/verified/ and a rollback's kept
failed work wp/WP-1-failed-1, neither of which a prune may touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import drop_booking, drop_dispatch
from helpers.git import git, new_repo
from helpers.keys import Signed
from helpers.workspace import Env
from helpers.worktrees import add_setup_script, configure, give_owner_a_key

from cockpit.domain import EventType
from cockpit.engine.runner.loop import run_once
from cockpit.store import NewEvent

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

ROW_KEYS = {"work_package", "path", "branch", "state", "size_bytes", "age_s", "dirty"}


@dataclass
class Scene:
    env: Env
    repo: Path
    base: str
    key: Path

    def branches(self) -> list[str]:
        return git(self.repo, "for-each-ref", "--format=%(refname)").split()

    def trees(self) -> list[str]:
        return sorted(p.name for p in (self.env.root / "worktrees").iterdir())

    def pruned(self) -> list[Any]:
        return [e for e in self.env.events() if e.type == EventType.WORKTREE_PRUNED]


def _ok(env: Env, *args: str) -> None:
    result = env.cli(*args)
    assert result.code == 0, result.err


@pytest.fixture
def scene(env: Env, tmp_path: Path) -> Scene:
    repo, base = new_repo(tmp_path)
    key = give_owner_a_key(env, tmp_path / "keys")
    for n in range(1, 6):
        drop_booking(env, repo, f"WP-{n}")
        drop_dispatch(env, f"WP-{n}", n)
    summary = env.sweep()  # the lane runs no agent: the runner only makes worktrees
    assert summary.agents.worktrees == 5, summary.sweep.log
    _ok(env, "cancel", "WP-1", "--reason", "not needed")
    _ok(env, "cancel", "WP-2", "--reason", "not needed")
    (env.root / "worktrees" / "WP-2" / "src" / "app.py").write_text("print('unsaved')\n")
    for wp in ("WP-3", "WP-4"):
        _ok(env, "override", wp, "--to", "complete", "--reason", "done by hand")
    # What `cockpit deliver` records for a delivered WP (SPEC 11.3): its prune only asks
    # whether such an event exists.
    with env.store() as store, store.transaction():
        payload = {"via": "push", "base": "main", "base_sha": base, "head": base}
        payload.update(validated=False, remote_ref="origin/wp/WP-3")
        store.append(NewEvent(EventType.DELIVERED, "WP-3", "human:owner", None, payload))
    worktrees = env.root / "worktrees"
    git(repo, "worktree", "add", "-q", "-b", "wp/WP-99", str(worktrees / "WP-99"), base)
    git(repo, "branch", "wp/WP-98", base)
    (worktrees / "stray").mkdir()
    (worktrees / "stray" / "notes.txt").write_text("someone's notes\n")
    git(repo, "update-ref", "refs/cockpit/verified/WP-1/7", base)
    git(repo, "branch", "wp/WP-1-failed-1", base)
    return Scene(env, repo, base, key)


def test_the_listing_shows_each_worktree_with_its_wp_state_branch_size_age_and_changes(
    scene: Scene,
) -> None:
    result = scene.env.cli("worktrees", "--json")
    assert result.code == 0, result.err
    rows = {r["work_package"]: r for r in result.json()}
    assert all(set(r) == ROW_KEYS for r in rows.values())
    assert sorted(rows) == [*(f"WP-{n}" for n in range(1, 6)), "WP-98", "WP-99", "stray"]
    assert rows["WP-1"]["state"] == "cancelled" and rows["WP-1"]["dirty"] is False
    assert rows["WP-1"]["branch"] == "wp/WP-1" and rows["WP-1"]["path"] == "worktrees/WP-1"
    assert rows["WP-2"]["dirty"] is True
    assert rows["WP-5"]["state"] == "dispatched"
    assert rows["WP-99"]["state"] is None and rows["WP-99"]["branch"] == "wp/WP-99"
    assert rows["WP-98"]["path"] is None and rows["WP-98"]["size_bytes"] is None
    assert rows["stray"]["branch"] is None and rows["stray"]["dirty"] is True
    for name in ("WP-1", "WP-99", "stray"):
        assert rows[name]["size_bytes"] > 0 and isinstance(rows[name]["age_s"], int)
    text = scene.env.cli("worktrees")
    assert text.code == 0 and "orphan" in text.out and "WP-2" in text.out


def test_a_dry_run_says_what_would_go_and_changes_nothing(scene: Scene) -> None:
    before = (scene.trees(), scene.branches(), len(scene.env.events()))
    result = scene.env.cli("worktrees", "prune", "--dry-run", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["dry_run"] is True
    assert [r["work_package"] for r in document["removed"]] == ["WP-1", "WP-3", "WP-98", "WP-99"]
    skipped = {r["work_package"]: r["reason"] for r in document["skipped"]}
    assert skipped == {"WP-2": "uncommitted changes (--force)", "stray": skipped["stray"]}
    assert (scene.trees(), scene.branches(), len(scene.env.events())) == before


def test_prune_removes_finished_ones_and_orphans_but_never_uncommitted_work(
    scene: Scene,
) -> None:
    env = scene.env
    result = env.cli("worktrees", "prune", "--key", str(scene.key))
    assert result.code == 0, result.err
    assert "kept 2" in result.out and "WP-2" in result.out and "stray" in result.out
    assert scene.trees() == ["WP-2", "WP-4", "WP-5", "stray"]
    assert scene.branches() == [
        "refs/cockpit/verified/WP-1/7",
        "refs/heads/main",
        "refs/heads/wp/WP-1-failed-1",
        "refs/heads/wp/WP-2",
        "refs/heads/wp/WP-4",
        "refs/heads/wp/WP-5",
    ]
    assert (env.root / "worktrees" / "WP-2" / "src" / "app.py").read_text() == "print('unsaved')\n"
    events = scene.pruned()
    assert [e.payload["work_package"] for e in events] == ["WP-1", "WP-3", "WP-98", "WP-99"]
    for event in events:
        assert event.work_package is None and event.principal == "human:owner"
        assert event.payload["signature"]["signed"]["action"] == "prune_worktrees"
    first = events[0].payload
    assert first["branch"] == "wp/WP-1" and first["head"] == scene.base
    assert first["finished"] == "cancelled" and first["dirty"] is False
    assert events[2].payload["finished"] == "orphan" and events[2].payload["path"] is None
    assert git(scene.repo, "worktree", "list", "--porcelain").count("worktree ") == 4

    forced = env.cli("worktrees", "prune", "--force", "--key", str(scene.key), "--json")
    assert forced.code == 0, forced.err
    removed = {r["work_package"]: r for r in forced.json()["removed"]}
    assert sorted(removed) == ["WP-2", "stray"] and removed["WP-2"]["dirty"] is True
    assert scene.trees() == ["WP-4", "WP-5"]
    assert "refs/cockpit/verified/WP-1/7" in scene.branches()
    audit = env.cli("audit", "verify", "--json").json()
    assert audit["ok"] is True and audit["signatures"]["bad"] == 0


def test_prune_needs_the_deliver_capability(scene: Scene) -> None:
    before = (scene.trees(), scene.branches(), len(scene.env.events()))
    refused = scene.env.cli("worktrees", "prune", "--as", "human:reviewer")
    assert refused.code == 1 and "lacks the deliver capability" in refused.err
    looked = scene.env.cli("worktrees", "prune", "--dry-run", "--as", "human:reviewer")
    assert looked.code == 0  # a dry run changes nothing: anyone may look
    assert (scene.trees(), scene.branches(), len(scene.env.events())) == before


def _later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _run_at(env: Env, moment: datetime) -> None:
    with env.ws.open_store(lambda: moment) as store:
        run_once(env.ws, store)


def test_the_runner_prunes_finished_worktrees_after_keep_days_and_never_forces(
    scene: Scene,
) -> None:
    env = scene.env
    _run_at(env, _later(6))  # within the default 7 days: nothing goes
    assert scene.pruned() == []
    _run_at(env, _later(8))
    events = scene.pruned()
    assert [e.payload["work_package"] for e in events] == ["WP-1", "WP-3"]
    assert all(e.principal == "cockpit:runner" and e.payload["keep_days"] == 7 for e in events)
    # Uncommitted work, orphans and a complete WP not yet delivered stay.
    assert scene.trees() == ["WP-2", "WP-4", "WP-5", "WP-99", "stray"]
    assert "refs/heads/wp/WP-98" in scene.branches()


def test_keep_days_zero_never_prunes(scene: Scene) -> None:
    configure(scene.env, keep_days=0)
    _run_at(scene.env, _later(365))
    assert scene.pruned() == []


# -- approve-setup ------------------------------------------------------------------------


def test_approve_setup_names_the_repo_when_there_is_not_exactly_one(
    env: Env, tmp_path: Path
) -> None:
    configure(env, setup=["sh", "scripts/setup.sh"])
    none = env.cli("worktrees", "approve-setup")
    assert none.code == 2 and "no work package names a target repo" in none.err
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, _ = new_repo(tmp_path / "one")
    two, _ = new_repo(tmp_path / "two")
    drop_booking(env, one, "WP-1")
    drop_booking(env, two, "WP-2")
    env.sweep()
    several = env.cli("worktrees", "approve-setup")
    assert several.code == 2 and str(one) in several.err and str(two) in several.err
    missing = env.cli("worktrees", "approve-setup", str(one))
    assert missing.code == 1 and "scripts/setup.sh is not in commit" in missing.err
    digest = add_setup_script(one)
    git(one, "commit", "-q", "--allow-empty", "-m", "later")
    done = env.cli("worktrees", "approve-setup", str(one), "--ref", "HEAD~1", "--json")
    assert done.code == 0, done.err
    assert done.json()["sha256"] == digest and done.json()["target_repo"] == str(one)
    unknown = env.cli("worktrees", "approve-setup", str(one), "--ref", "no-such-ref")
    assert unknown.code == 2 and "names no commit" in unknown.err
    plain = env.cli("worktrees", "approve-setup", str(tmp_path))
    assert plain.code == 2 and "not the top of a git repository" in plain.err


def test_approve_setup_without_setup_configured_is_refused(env: Env, tmp_path: Path) -> None:
    repo, _ = new_repo(tmp_path)
    refused = env.cli("worktrees", "approve-setup", str(repo))
    assert refused.code == 1 and "worktrees.setup is not set" in refused.err


def test_approve_setup_under_required_signatures_needs_the_owners_key(
    env: Env, tmp_path: Path
) -> None:
    signed = Signed(env, tmp_path / "keys")
    repo, _ = new_repo(tmp_path)
    digest = add_setup_script(repo)
    configure(env, setup=["sh", "scripts/setup.sh"])
    before = len(env.events())
    unsigned = env.cli("worktrees", "approve-setup", str(repo))
    assert unsigned.code == 1 and "must be signed" in unsigned.err
    forged = env.cli(
        "worktrees", "approve-setup", str(repo), "--key", str(signed.keys["agent:implementer-1"])
    )
    assert forged.code == 1 and "not a key of human:owner" in forged.err
    reviewer = env.cli("worktrees", "approve-setup", str(repo), "--as", "human:reviewer")
    assert reviewer.code == 1 and "lacks the deliver capability" in reviewer.err
    assert len(env.events()) == before
    key = str(signed.keys["human:owner"])
    done = env.cli("worktrees", "approve-setup", str(repo), "--key", key)
    assert done.code == 0, done.err
    assert digest in done.out and "scripts/setup.sh" in done.out
    assert env.cli("audit", "verify", "--json").json()["ok"] is True
