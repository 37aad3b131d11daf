"""The workspace's worktrees and `wp/*` branches, and pruning them (SPEC 11.4).

`discover` finds every directory under `worktrees/` and every `wp/<name>` branch of the
target repos the store's WPs name, joined by name: a WP of the store, or an *orphan*
(no WP of that name in the store). Left out: branches checked out in a worktree outside
this workspace's `worktrees/` (another workspace's, or the owner's), a branch named like
one of this store's WPs but in another repository than that WP's, and the failed work a
rollback keeps (`wp/<WP>-failed-<n>`: the record of what failed, never pruned).

A worktree is *finished* when its WP was cancelled, rolled back or delivered (a
`delivered` event); a `complete` WP not yet delivered is kept. `plan` lists what a prune
removes: finished worktrees and orphans, never one whose agent is still running, and
never one with uncommitted changes unless forced. Uncommitted changes are measured as
the gate measures a change (a scratch index from HEAD, untracked files included), so an
agent's index flags hide nothing; a directory that is not a worktree, or whose git link
was tampered with, counts as having them.

`remove` deletes the directory (after checking it is a real directory right under
`worktrees/`; its own `.git` link, which the agent could write, is never followed), has
git forget it (`git worktree prune`), and deletes the branch only if it still points
where it did (compare-and-delete) and nothing else has it checked out. It never touches
`refs/cockpit/*` (the verified heads a delivery needs stay) nor the failed work.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, State
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import gitops, private_git, provisioning, worktrees
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, Store

_FAILED = re.compile(r"-failed-\d+$")
_FINISHED_STATES = (State.CANCELLED.value, State.ROLLED_BACK.value)


@dataclass
class Found:
    """One worktree, branch, or both, of one WP (or orphan) name."""

    name: str  # the WP's id (or the orphan's directory / branch name)
    path: Path | None  # worktrees/<name>, when there is such a directory (or link)
    repo: Path | None  # the repository its branch and worktree belong to
    branch: str | None  # `wp/<name>`, when that branch exists
    head: str | None  # the branch's commit
    state: str | None  # the WP's state (None: an orphan)
    finished: str | None = None  # `cancelled`, `rolled_back`, `delivered`, `orphan`
    finished_at: datetime | None = None
    running: bool = False  # an agent of the WP has not exited
    made_at: datetime | None = None  # its latest worktree_provisioned
    dirty: bool | None = None  # measured by `measure`
    size_bytes: int | None = None
    age_s: int | None = None

    def shown_path(self, ws: Workspace) -> str | None:
        if self.path is None:
            return None
        try:
            return str(self.path.relative_to(ws.root))
        except ValueError:
            return str(self.path)

    def row(self, ws: Workspace) -> dict[str, Any]:
        """The `--json` row (SPEC 11.4)."""
        return {
            "work_package": self.name,
            "path": self.shown_path(ws),
            "branch": self.branch,
            "state": self.state,
            "size_bytes": self.size_bytes,
            "age_s": self.age_s,
            "dirty": bool(self.dirty),
        }


def _ts(event: Event) -> datetime:
    return datetime.fromisoformat(event.ts.replace("Z", "+00:00"))


def _wp_facts(store: Store, found: Found) -> None:
    """The WP's state, whether and since when it is finished, whether its agent runs."""
    events = store.events(found.name)
    delivered = [e for e in events if e.type == EventType.DELIVERED]
    if delivered:
        found.finished, found.finished_at = "delivered", _ts(delivered[-1])
    elif found.state in _FINISHED_STATES:
        moved = [e for e in events if (e.payload.get("transition") or {}).get("to") == found.state]
        found.finished = found.state
        found.finished_at = _ts(moved[-1]) if moved else None
    ended = {e.payload.get("launch") for e in events if e.type == EventType.AGENT_EXITED}
    found.running = any(e.type == EventType.AGENT_STARTED and e.seq not in ended for e in events)
    made = [e for e in events if e.type == EventType.WORKTREE_PROVISIONED]
    found.made_at = _ts(made[-1]) if made else None


def _checked_out(repo: Path) -> dict[str, Path]:
    """Branch ref -> the worktree that has it checked out, for every worktree of `repo`."""
    listed = gitops.run(repo, "worktree", "list", "--porcelain", "-z")
    found: dict[str, Path] = {}
    path: Path | None = None
    for line in listed.split("\0"):
        if line.startswith("worktree "):
            path = Path(line.removeprefix("worktree "))
        elif line.startswith("branch ") and path is not None:
            found[line.removeprefix("branch ")] = path
    return found


def _branches(repo: Path) -> dict[str, str]:
    """`wp/<name>` branch name -> its commit."""
    listed = gitops.run(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/wp/")
    found = {}
    for line in listed.splitlines():
        ref, _, sha = line.partition(" ")
        found[ref.removeprefix("refs/heads/")] = sha
    return found


def _repo_of(path: Path) -> Path | None:
    """The repository a directory under worktrees/ is a worktree of (None: it is none)."""
    if path.is_symlink() or not path.is_dir() or gitops.top_level(path) != path.resolve():
        return None
    try:
        common = gitops.run(path, "rev-parse", "--path-format=absolute", "--git-common-dir")
    except GitError:
        return None
    common_dir = Path(common.strip())
    return common_dir.parent if common_dir.name == ".git" else common_dir


def discover(ws: Workspace, store: Store) -> list[Found]:
    """Every worktree and `wp/*` branch of the workspace (see the module text), by name."""
    base = ws.worktrees_dir
    ours = base.resolve() if base.is_dir() else None
    found: dict[tuple[str, Path | None], Found] = {}
    names: dict[str, Found] = {}
    if base.is_dir():
        for entry in sorted(base.iterdir()):
            if not (entry.is_dir() or entry.is_symlink()):
                continue
            wp = store.work_package(entry.name)
            repo = worktrees.target_repo_path(ws, wp) if wp and wp.get("target_repo") else None
            repo = repo or _repo_of(entry)
            item = Found(entry.name, entry, repo, None, None, wp["state"] if wp else None)
            found[(entry.name, repo)] = names[entry.name] = item
    for repo in provisioning.repos_in_use(ws, store):
        try:
            branches, checked = _branches(repo), _checked_out(repo)
        except GitError:
            continue  # a repository gone or unusable: nothing of it to list
        for branch, sha in sorted(branches.items()):
            name = branch.removeprefix("wp/")
            wp = store.work_package(name)
            where = checked.get(f"refs/heads/{branch}")
            if where is not None and (ours is None or where.resolve().parent != ours):
                continue  # checked out elsewhere: another workspace's, or the owner's
            if wp is None and _FAILED.search(name):
                continue  # failed work a rollback kept
            if wp is not None and (
                not wp.get("target_repo") or worktrees.target_repo_path(ws, wp) != repo
            ):
                continue  # this WP's name, another repository: not this WP's branch
            joined = found.get((name, repo)) or names.get(name)
            if joined is None or (joined.repo is not None and joined.repo != repo):
                joined = Found(name, None, repo, None, None, wp["state"] if wp else None)
                found[(name, repo)] = joined
            joined.repo, joined.branch, joined.head = repo, branch, sha
    for item in found.values():
        if item.state is None:
            item.finished = "orphan"
        else:
            _wp_facts(store, item)
    return sorted(found.values(), key=lambda f: (f.name, str(f.repo)))


def finished_worktrees(ws: Workspace, store: Store) -> list[Found]:
    """The directories under worktrees/ of finished WPs (with their branches): what the
    runner looks at each time, at the cost of the directories there, whatever the size
    of the store."""
    base = ws.worktrees_dir
    found = []
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        wp = store.work_package(entry.name)
        if wp is None or not wp.get("target_repo") or not entry.is_dir():
            continue
        repo = worktrees.target_repo_path(ws, wp)
        item = Found(entry.name, entry, repo, None, None, wp["state"])
        _wp_facts(store, item)
        if item.finished is None:
            continue
        head = worktrees.branch_tip(repo, entry.name)
        if head is not None:
            item.branch, item.head = worktrees.branch_name(entry.name), head
        found.append(item)
    return found


def _dirty(ws: Workspace, store: Store, item: Found) -> bool:
    """Uncommitted changes in the worktree (True when that cannot be told)."""
    if item.path is None:
        return False
    try:
        if item.state is not None:
            wp = store.work_package(item.name)
            assert wp is not None
            tree: gitops.Where = worktrees.open_worktree(ws, store, wp)
        elif _repo_of(item.path) is not None:
            tree = item.path
        else:
            return True  # not a worktree: nothing says its files are kept elsewhere
        head = gitops.rev(tree, "HEAD")
        return bool(repo_content.changes(tree, head).paths or gitops.status_lines(tree))
    except (GitError, WorktreeError, OSError):
        return True


def _size(path: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):  # links are not followed
        for name in dirnames + filenames:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(dirpath, name))
                if not stat.S_ISDIR(info.st_mode):
                    total += info.st_size
    return total


def measure(ws: Workspace, store: Store, item: Found, *, size: bool = True) -> Found:
    """Fill in whether the worktree has uncommitted changes, and its size and age."""
    item.dirty = _dirty(ws, store, item)
    now = store.clock()
    if item.made_at is not None:
        item.age_s = max(0, int((now - item.made_at).total_seconds()))
    elif item.path is not None:
        with contextlib.suppress(OSError):
            item.age_s = max(0, int(now.timestamp() - item.path.lstat().st_mtime))
    if size and item.path is not None and not item.path.is_symlink():
        item.size_bytes = _size(item.path)
    return item


@dataclass
class Plan:
    """What a prune removes, and what it leaves with the reason."""

    remove: list[Found]
    skipped: list[tuple[Found, str]]


def plan(
    ws: Workspace,
    store: Store,
    *,
    force: bool = False,
    candidates: list[Found] | None = None,
    finished_before: datetime | None = None,
) -> Plan:
    """What a prune removes of `candidates` (default: everything `discover` finds):
    finished worktrees and orphans; with `finished_before`, only WPs finished before
    then. Skipped: a running agent's, and without `force` one with uncommitted changes."""
    remove: list[Found] = []
    skipped: list[tuple[Found, str]] = []
    for item in discover(ws, store) if candidates is None else candidates:
        if item.finished is None:
            continue
        if finished_before is not None and (
            item.finished_at is None or item.finished_at > finished_before
        ):
            continue
        measure(ws, store, item, size=False)
        if item.running:
            skipped.append((item, "its agent is running"))
        elif item.dirty and not force:
            skipped.append((item, "uncommitted changes (--force)"))
        else:
            remove.append(item)
    return Plan(remove, skipped)


def _writable_then(func: Any, path: str, _exc: Any) -> None:
    """rmtree's retry for a file in a directory made read-only (never following a link)."""
    parent = os.path.dirname(path)
    with contextlib.suppress(OSError):
        os.chmod(parent, stat.S_IRWXU)
    func(path)


def remove(ws: Workspace, item: Found) -> dict[str, Any]:
    """Remove the worktree and branch of `item` (see the module text). Returns the
    `worktree_pruned` payload (without a signature). Raises WorktreeError when the
    directory is not where a worktree of this workspace lives."""
    payload: dict[str, Any] = {
        "work_package": item.name,
        "path": item.shown_path(ws),
        "branch": None,
        "head": item.head,
        "state": item.state,
        "finished": item.finished,
        "dirty": bool(item.dirty),
    }
    if item.path is not None:
        if item.path.parent.resolve() != ws.worktrees_dir.resolve() or item.path.name in (
            "",
            ".",
            "..",
        ):
            raise WorktreeError(f"{item.path} is not a worktree of this workspace")
        if item.path.is_symlink() or not item.path.is_dir():
            item.path.unlink()
        else:
            shutil.rmtree(item.path, onerror=_writable_then)
    if item.repo is not None:
        with contextlib.suppress(GitError):
            gitops.run(item.repo, "worktree", "prune")
    if item.branch is not None and item.head is not None and item.repo is not None:
        try:
            where = _checked_out(item.repo).get(f"refs/heads/{item.branch}")
            if where is not None:
                payload["branch_kept"] = f"checked out at {where}"
            else:
                gitops.run(item.repo, "update-ref", "-d", f"refs/heads/{item.branch}", item.head)
                payload["branch"] = item.branch
        except GitError as exc:
            payload["branch_kept"] = str(exc)
    if item.state is not None:
        shutil.rmtree(private_git.private_root(ws, item.name), ignore_errors=True)
    return payload
