"""Isolated workspaces (SPEC 2, 9): one git worktree per WP with a target repo, at
`worktrees/<WP>` on branch `wp/<WP>`, made from the base commit without touching the
target repo's own checkout; and the git half of a rollback.

The base commit is resolved once, when the worktree is made, and recorded in the
`worktree_provisioned` event: the scope diff is measured against it even if `base_ref`
names a branch that moves on later.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.engine import gitops
from cockpit.engine.gitops import GitError
from cockpit.engine.workspace import Workspace
from cockpit.store import Store

COCKPIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Cockpit",
    "GIT_AUTHOR_EMAIL": "cockpit@localhost",
    "GIT_COMMITTER_NAME": "Cockpit",
    "GIT_COMMITTER_EMAIL": "cockpit@localhost",
}


class WorktreeError(RuntimeError):
    """The worktree could not be made or reset; the message says why, in one sentence."""


@dataclass(frozen=True)
class Provisioned:
    worktree: Path
    branch: str
    base_commit: str
    target_repo: Path
    adopted: bool

    def payload(self, ws: Workspace) -> dict[str, Any]:
        return {
            "worktree": _shown(ws, self.worktree),
            "branch": self.branch,
            "base_commit": self.base_commit,
            "target_repo": str(self.target_repo),
            "adopted": self.adopted,
        }


def branch_name(wp_id: str) -> str:
    return f"wp/{wp_id}"


def target_repo_path(ws: Workspace, wp: dict[str, Any]) -> Path:
    """The WP's target repo: absolute, or relative to the workspace root (SPEC 3.1)."""
    return (ws.root / str(wp["target_repo"])).resolve()


def worktree_path(ws: Workspace, wp_id: str) -> Path:
    return ws.worktrees_dir / wp_id


def _shown(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def recorded_base(store: Store, wp_id: str) -> str | None:
    """The base commit recorded when the WP's worktree was made, if it was."""
    events = store.find_events(work_package=wp_id, types=("worktree_provisioned",))
    return str(events[-1].payload["base_commit"]) if events else None


def _check_repo(repo: Path) -> None:
    """Raise WorktreeError unless `repo` is the top of a git repository git will use (it
    refuses a repository another user owns: git's own reason is passed on)."""
    if not repo.is_dir():
        raise WorktreeError(f"the target repo {repo} does not exist")
    try:
        top = Path(gitops.run(repo, "rev-parse", "--show-toplevel").strip()).resolve()
    except GitError as exc:
        raise WorktreeError(f"the target repo {repo} cannot be used: {exc}") from None
    if top != repo:
        raise WorktreeError(f"the target repo {repo} is not the top of a git repository")


def _git_dir(path: Path) -> Path:
    return Path(gitops.run(path, "rev-parse", "--path-format=absolute", "--git-common-dir").strip())


def provision(ws: Workspace, wp: dict[str, Any], base: str | None = None) -> Provisioned:
    """Make (or adopt) the WP's worktree. `base` is the base commit recorded earlier, if
    any; otherwise `base_ref` (or the target repo's HEAD) is resolved now.
    Raises WorktreeError."""
    wp_id = wp["id"]
    repo = target_repo_path(ws, wp)
    branch = branch_name(wp_id)
    path = worktree_path(ws, wp_id)
    _check_repo(repo)
    try:
        if base is None:
            ref = str(wp.get("base_ref") or "HEAD")
            try:
                base = gitops.rev(repo, ref)
            except GitError:
                raise WorktreeError(f"base_ref {ref!r} names no commit in {repo}") from None
        if path.exists() or path.is_symlink():
            return _adopt(repo, path, branch, base)
        path.parent.mkdir(parents=True, exist_ok=True)
        gitops.run(repo, "worktree", "prune")
        if gitops.branch_exists(repo, branch):
            if not gitops.is_ancestor(repo, base, f"refs/heads/{branch}"):
                raise WorktreeError(
                    f"branch {branch} already exists in {repo} and does not start from "
                    f"{base[:12]}; rename or delete it"
                )
            gitops.run(repo, "worktree", "add", "--", str(path), branch)
        else:
            gitops.run(repo, "worktree", "add", "-b", branch, "--", str(path), base)
    except GitError as exc:
        raise WorktreeError(f"git refused to make the worktree: {exc}") from None
    return Provisioned(path, branch, base, repo, adopted=False)


def _adopt(repo: Path, path: Path, branch: str, base: str) -> Provisioned:
    """An existing `worktrees/<WP>` is used only if it is this repo's worktree on the
    WP's branch."""
    if path.is_symlink() or not path.is_dir():
        raise WorktreeError(f"{path} exists and is not a directory")
    if gitops.top_level(path) != path.resolve():
        raise WorktreeError(f"{path} exists and is not a git worktree")
    if _git_dir(path) != _git_dir(repo):
        raise WorktreeError(f"{path} is a worktree of another repository")
    if gitops.current_branch(path) != branch:
        raise WorktreeError(f"{path} is not on branch {branch}")
    return Provisioned(path, branch, base, repo, adopted=True)


@dataclass(frozen=True)
class Reset:
    """What the git half of a rollback did."""

    failed_ref: str | None
    failed_head: str
    head: str
    clean: bool

    @property
    def at_base(self) -> bool:
        return self.clean

    def payload(self) -> dict[str, Any]:
        return {"failed_ref": self.failed_ref, "failed_head": self.failed_head, "head": self.head}


def _snapshot_commit(worktree: Path, parents: list[str], base: str, wp_id: str) -> str:
    """A commit of everything in the worktree: committed work, uncommitted changes and
    untracked files (as the gate saw them: ignored only by the base commit's rules), made
    with a scratch index so the branch and the worktree's index are untouched. Its parents
    are `parents` (HEAD, and the WP's branch if the agent left it)."""
    with tempfile.TemporaryDirectory(prefix="cockpit-index-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), **COCKPIT_IDENTITY}
        gitops.run(worktree, "read-tree", "HEAD", extra_env=env)
        gitops.run(worktree, "add", "--update", extra_env=env)
        untracked = gitops.untracked(worktree, base)
        if untracked:
            listing = Path(scratch) / "untracked"
            listing.write_bytes(b"\0".join(os.fsencode(p) for p in untracked))
            literal = {**env, "GIT_LITERAL_PATHSPECS": "1"}
            gitops.run(
                worktree,
                "add",
                "--force",
                f"--pathspec-from-file={listing}",
                "--pathspec-file-nul",
                extra_env=literal,
            )
        tree = gitops.run(worktree, "write-tree", extra_env=env).strip()
        message = f"Cockpit: the state of {wp_id} when it was rolled back"
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return gitops.run(worktree, *args, "-m", message, extra_env=env).strip()


def reset_to_base(worktree: Path, wp_id: str, base: str) -> Reset:
    """Keep the failed work under `wp/<WP>-failed-<n>`, then point branch `wp/<WP>` at
    `base`, check it out and remove every file git does not track. The failed work is
    whatever the worktree holds (HEAD, uncommitted and untracked files) and the WP's
    branch, even if the agent moved HEAD to another branch. Raises WorktreeError."""
    branch = branch_name(wp_id)
    try:
        head = gitops.rev(worktree, "HEAD")
        tip = (
            gitops.rev(worktree, f"refs/heads/{branch}")
            if gitops.branch_exists(worktree, branch)
            else head
        )
        parents = (
            [head]
            if tip in (head, base) or gitops.is_ancestor(worktree, tip, head)
            else [
                head,
                tip,
            ]
        )
        dirty = bool(gitops.status_lines(worktree)) or bool(gitops.untracked(worktree, base))
        kept = head
        if dirty or len(parents) > 1:
            kept = _snapshot_commit(worktree, parents, base, wp_id)
        failed_ref = None
        if kept != base:
            n = 1
            while gitops.branch_exists(worktree, f"{branch}-failed-{n}"):
                n += 1
            failed_ref = f"{branch}-failed-{n}"
            gitops.run(worktree, "update-ref", f"refs/heads/{failed_ref}", kept, "")
        gitops.run(worktree, "checkout", "--quiet", "--force", "-B", branch, base)
        gitops.run(worktree, "clean", "-ffdxq")
        now = gitops.rev(worktree, "HEAD")
        on_branch = gitops.current_branch(worktree) == branch
        clean = now == base and on_branch and not gitops.status_lines(worktree)
    except GitError as exc:
        raise WorktreeError(f"git refused the rollback: {exc}") from None
    return Reset(failed_ref, kept, now, clean)


def merge_proof(repo: Path, sha: str) -> dict[str, Any]:
    """Proof that commit `sha` is contained in the target repo's checked-out branch (a
    review `accepted` with a `merge_sha`). Raises WorktreeError naming what failed."""
    _check_repo(repo)
    try:
        commit = gitops.rev(repo, sha)
    except GitError:
        raise WorktreeError(f"merge_sha {sha} names no commit in {repo}") from None
    branch = gitops.current_branch(repo) or "HEAD"
    if not gitops.is_ancestor(repo, commit, "HEAD"):
        raise WorktreeError(f"merge_sha {sha} is not contained in {branch} of {repo}")
    return {"merge_sha": commit, "branch": branch, "contained": True}
