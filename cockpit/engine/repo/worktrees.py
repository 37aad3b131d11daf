"""Isolated workspaces (SPEC 2, 9): one git worktree per WP with a target repo, at
`worktrees/<WP>` on branch `wp/<WP>`, made from the base commit without touching the
target repo's own checkout; and the git half of a rollback.

The base commit is resolved once, when the worktree is made, and recorded in the
`worktree_provisioned` event: the scope diff is measured against it even if `base_ref`
names a branch that moves on later.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, State
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Event, Store
from cockpit.store.rows import WorkPackageRow

COCKPIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Cockpit",
    "GIT_AUTHOR_EMAIL": "cockpit@localhost",
    "GIT_COMMITTER_NAME": "Cockpit",
    "GIT_COMMITTER_EMAIL": "cockpit@localhost",
}


class WorktreeError(Refused):
    """The worktree could not be made or reset; the message says why, in one sentence."""


@dataclass(frozen=True)
class Provisioned:
    worktree: Path
    branch: str
    base_commit: str
    target_repo: Path
    adopted: bool
    git_dir: Path
    replace_refs: dict[str, str]
    git_dir_files: dict[str, str]

    def payload(self, ws: Workspace) -> dict[str, Any]:
        return {
            "replace_refs": self.replace_refs,
            "git_dir_files": self.git_dir_files,
            "worktree": _shown(ws, self.worktree),
            "branch": self.branch,
            "base_commit": self.base_commit,
            "target_repo": str(self.target_repo),
            "git_dir": str(self.git_dir),
            "adopted": self.adopted,
        }


def branch_name(wp_id: str) -> str:
    return f"wp/{wp_id}"


def target_repo_path(ws: Workspace, wp: WorkPackageRow) -> Path:
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
    events = store.find_events(work_package=wp_id, types=(EventType.WORKTREE_PROVISIONED,))
    return str(events[-1].payload["base_commit"]) if events else None


def planted_replace_refs(store: Store, tree: gitops.Where, wp_id: str) -> dict[str, str]:
    """Replacement refs in the target repo that were not there, as they are, when the WP's
    worktree was first made: an agent's doing (see gitops.replace_refs)."""
    made = store.find_events(work_package=wp_id, types=(EventType.WORKTREE_PROVISIONED,))
    before = (made[0].payload.get("replace_refs") or {}) if made else {}
    return {ref: obj for ref, obj in gitops.replace_refs(tree).items() if before.get(ref) != obj}


def git_dir_changes(store: Store, tree: gitops.Where, wp_id: str) -> list[str]:
    """Files of the target repo's shared git directory (config, hooks, info/, object
    alternates and grafts) changed since the WP's worktree was first made: the owner's
    own git would run or honour them. Empty if the provisioning recorded none."""
    made = store.find_events(work_package=wp_id, types=(EventType.WORKTREE_PROVISIONED,))
    if not made or "git_dir_files" not in made[0].payload:
        return []
    before = made[0].payload["git_dir_files"] or {}
    # A completed rollback reported the changes to a human and took the directory as it
    # then was for the new baseline (the owner may have made them: a hook, a setting).
    for event in store.find_events(work_package=wp_id, types=(EventType.ROLLBACK_COMPLETED,)):
        if "git_dir_files" in event.payload:
            before = event.payload["git_dir_files"] or {}
    return gitops.fingerprint_changes(before, gitops.git_dir_fingerprint(tree))


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


def _own_git_dir(path: Path) -> Path:
    return Path(gitops.run(path, "rev-parse", "--path-format=absolute", "--git-dir").strip())


def open_worktree(ws: Workspace, store: Store, wp: WorkPackageRow) -> gitops.Worktree:
    """The WP's worktree with the git directory recorded when it was made, after checking
    that the worktree's `.git` file still names it (an agent could point it at another
    repository, or at one whose core.worktree is elsewhere). Raises WorktreeError."""
    path = worktree_path(ws, wp["id"])
    if path.is_symlink() or path.parent.is_symlink():
        raise WorktreeError(f"the worktree {path} is a symbolic link, not the worktree made for it")
    if not path.is_dir():
        raise WorktreeError(f"the worktree {path} does not exist")
    made = store.find_events(
        work_package=wp["id"], types=(EventType.WORKTREE_PROVISIONED,), limit=1
    )
    recorded = made[-1].payload.get("git_dir") if made else None
    if recorded is None:  # made by hand (or before git dirs were recorded): git's own view
        try:
            recorded = str(_own_git_dir(path))
        except GitError as exc:
            raise WorktreeError(f"{path} is not a git worktree: {exc}") from None
    git_file = path / ".git"
    try:
        text = git_file.read_text(encoding="utf-8").strip() if not git_file.is_symlink() else ""
    except (OSError, UnicodeDecodeError):
        text = ""
    named = text.removeprefix("gitdir:").strip()
    if not text.startswith("gitdir:") or Path(named).resolve() != Path(recorded).resolve():
        raise WorktreeError(
            f"the worktree's .git file no longer names its git directory {recorded}"
        )
    return gitops.Worktree(path, Path(recorded))


def provision(ws: Workspace, wp: WorkPackageRow, base: str | None = None) -> Provisioned:
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
        own = _own_git_dir(path)
    except GitError as exc:
        raise WorktreeError(f"git refused to make the worktree: {exc}") from None
    return _provisioned(path, branch, base, repo, False, own)


def _provisioned(
    path: Path, branch: str, base: str, repo: Path, adopted: bool, own: Path
) -> Provisioned:
    """The record of a worktree made or adopted, with the target repo's replacement refs
    and git directory as they are now (what later changes are measured against)."""
    return Provisioned(
        path,
        branch,
        base,
        repo,
        adopted,
        own,
        gitops.replace_refs(repo),
        gitops.git_dir_fingerprint(repo),
    )


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
    if not gitops.is_ancestor(path, base, "HEAD"):
        raise WorktreeError(f"{path} does not start from the base commit {base[:12]}")
    own = _own_git_dir(path)
    if own.parent != _git_dir(repo) / "worktrees":
        raise WorktreeError(f"{path} has its git directory outside {repo}")
    return _provisioned(path, branch, base, repo, True, own)


@dataclass(frozen=True)
class Reset:
    """What the git half of a rollback did."""

    failed_ref: str | None
    failed_head: str
    head: str
    clean: bool

    def payload(self) -> dict[str, Any]:
        return {"failed_ref": self.failed_ref, "failed_head": self.failed_head, "head": self.head}


def reset_to_base(tree: gitops.Worktree, wp_id: str, base: str) -> Reset:
    """Keep the failed work on `wp/<WP>-failed-<n>`, then point `wp/<WP>` at `base`, check
    it out with a fresh index and remove every file git does not track.

    The failed work is the worktree's content as a scratch index sees it (so the agent's
    index flags hide nothing), on top of HEAD and of the WP's branch if the agent moved
    HEAD elsewhere. The result is checked the same way: HEAD on `wp/<WP>` at `base`, and
    no path differing from it. Raises WorktreeError."""
    branch = branch_name(wp_id)
    try:
        nested = gitops.nested_repositories(tree, base)
        if nested:
            shown = ", ".join(nested[:5])
            raise WorktreeError(
                f"the worktree holds repositories of its own ({shown}) that a rollback "
                "would delete and cannot keep on the failed ref: move them out of the "
                "worktree and roll back again (nothing was changed)"
            )
        head = gitops.rev(tree, "HEAD")
        tip = (
            gitops.rev(tree, f"refs/heads/{branch}") if gitops.branch_exists(tree, branch) else head
        )
        content = repo_content.changes(tree, base)
        parents = list(dict.fromkeys([head, tip]))
        kept = base
        if content.paths or any(p != base for p in parents):
            message = f"Cockpit: the state of {wp_id} when it was rolled back"
            args = ["commit-tree", content.tree, "-m", message]
            for parent in parents:
                args += ["-p", parent]
            kept = gitops.run(tree, *args, extra_env=COCKPIT_IDENTITY).strip()
        failed_ref = None
        if kept != base:
            n = 1
            while gitops.branch_exists(tree, f"{branch}-failed-{n}"):
                n += 1
            failed_ref = f"{branch}-failed-{n}"
            gitops.run(tree, "update-ref", f"refs/heads/{failed_ref}", kept, "")
        gitops.run(tree, "update-ref", f"refs/heads/{branch}", base)
        gitops.run(tree, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        with contextlib.suppress(FileNotFoundError):
            (tree.git_dir / "index").unlink()  # the agent's index, flags and all
        gitops.run(tree, "read-tree", "--reset", "-u", base)
        gitops.run(tree, "clean", "-ffdxq")
        now = gitops.rev(tree, "HEAD")
        on_branch = gitops.current_branch(tree) == branch
        clean = now == base and on_branch and not repo_content.changes(tree, base).paths
    except GitError as exc:
        raise WorktreeError(f"git refused the rollback: {exc}") from None
    return Reset(failed_ref, kept, now, clean)


def merge_proof(
    repo: Path, sha: str, wp_id: str | None = None, admitted: str | None = None
) -> dict[str, Any]:
    """Proof that commit `sha` is contained in the target repo's checked-out branch and
    itself contains the WP's work: the commit of the WP's branch `wp/<wp_id>` (a squash
    merge cannot be proved), and `admitted` the git tree of the worktree content the gate
    last admitted. When the gate admitted something, the branch's commit must be exactly that
    content: a branch left at base (the admitted work never committed) or moved on since
    proves nothing. Raises WorktreeError naming what failed."""
    _check_repo(repo)
    try:
        commit = gitops.rev(repo, sha)
    except GitError:
        raise WorktreeError(f"merge_sha {sha} names no commit in {repo}") from None
    branch = gitops.current_branch(repo) or "HEAD"
    work = branch_tip(repo, wp_id) if wp_id is not None else None
    if not gitops.is_ancestor(repo, commit, "HEAD"):
        raise WorktreeError(f"merge_sha {sha} is not contained in {branch} of {repo}")
    if admitted is not None:
        if work is None:
            raise WorktreeError(
                "merge_sha cannot be proved: the work package's branch is gone, so nothing "
                "ties the merge to the work the gate admitted"
            )
        tree = gitops.tree_of(repo, work)
        if tree != admitted:
            raise WorktreeError(
                f"the work package's branch is at {work[:12]}, which is not the work the "
                f"gate admitted (tree {tree[:12]}, admitted {admitted}): commit exactly the "
                f"admitted content with {_recipe(str(wp_id), admitted, work)} and merge that "
                "commit"
            )
    if work is not None and not gitops.is_ancestor(repo, work, commit):
        raise WorktreeError(
            f"merge_sha {sha} does not contain the work package's commit {work[:12]}"
        )
    return {
        "merge_sha": commit,
        "branch": branch,
        "contained": True,
        "work": work,
        "admitted_tree": admitted,
    }


def _recipe(wp_id: str, admitted: str, parent: str) -> str:
    return (
        f"`git update-ref refs/heads/{branch_name(wp_id)} "
        f"$(git commit-tree {admitted} -p {parent[:12]} -m 'the admitted work')`"
    )


def check_admitted_unchanged(ws: Workspace, store: Store, wp: WorkPackageRow) -> None:
    """Before a review accepts a WP, check that what the gate admitted is still what there
    is: the worktree's content is the admitted tree (nothing, not even a process the agent
    left behind, changed it since), and the branch `wp/<WP>` is where the gate saw it or
    holds exactly the admitted tree. Raises WorktreeError naming what changed."""
    verdict = _last_admission(store.events(wp["id"]))
    admitted = verdict.payload.get("worktree_tree") if verdict else None
    if verdict is None or not admitted or not wp.get("target_repo"):
        return
    base = recorded_base(store, wp["id"])
    path = worktree_path(ws, wp["id"])
    try:
        if base is not None and (path.exists() or path.is_symlink()):
            content = repo_content.changes(open_worktree(ws, store, wp), base).tree
            if content != admitted:
                raise WorktreeError(
                    f"the worktree of {wp['id']} changed since the gate admitted it (tree "
                    f"{content[:12]}, admitted {admitted[:12]}): verify it again"
                )
        if "branch_tip" in verdict.payload:
            repo = target_repo_path(ws, wp)
            now = branch_tip(repo, wp["id"])
            # A branch deleted after its merge has nothing left to check (a merge_sha, if
            # given, is still proved against the branch by merge_proof).
            moved = now is not None and now != verdict.payload["branch_tip"]
            if now is not None and moved and gitops.tree_of(repo, now) != admitted:
                raise WorktreeError(
                    f"the branch {branch_name(wp['id'])} moved since the gate admitted "
                    f"{wp['id']} and does not hold the admitted tree {admitted}: commit "
                    f"exactly the admitted content with {_recipe(wp['id'], admitted, now)}"
                )
    except GitError as exc:
        raise WorktreeError(f"the admitted work cannot be checked: {exc}") from None


def _last_admission(events: list[Event]) -> Event | None:
    """The WP's last `verify_completed` that admitted it (outcome success)."""
    return next(
        (
            e
            for e in reversed(events)
            if e.type == EventType.VERIFY_COMPLETED and e.payload.get("outcome") == "success"
        ),
        None,
    )


def acceptance_basis(store: Store, wp: WorkPackageRow) -> tuple[str, int]:
    """What `acceptance_proof` depends on in the store: the WP's state and the seq of its
    last admitting verdict. A proof taken on one basis is stale on another."""
    verdict = _last_admission(store.events(wp["id"]))
    return (str(wp["state"]), verdict.seq if verdict else 0)


def acceptance_proof(
    ws: Workspace, store: Store, wp: WorkPackageRow, merge_sha: str | None
) -> dict[str, Any] | None:
    """What a review accepting the WP must show (the CLI's and a review entry's alike):
    for a WP in `accepted`, that the admitted work is unchanged (check_admitted_unchanged);
    with a `merge_sha`, its merge proof, which is returned. Raises WorktreeError."""
    if wp["state"] == State.ACCEPTED:
        check_admitted_unchanged(ws, store, wp)
    if not merge_sha:
        return None
    if not wp.get("target_repo"):
        raise WorktreeError(
            f"merge_sha {merge_sha} cannot be proved: {wp['id']} has no target repo"
        )
    verdict = _last_admission(store.events(wp["id"]))
    tree = verdict.payload.get("worktree_tree") if verdict else None
    return merge_proof(target_repo_path(ws, wp), merge_sha, wp["id"], str(tree) if tree else None)


def branch_tip(repo: Path, wp_id: str) -> str | None:
    """The commit of the WP's branch in its target repo (None if there is none)."""
    try:
        return gitops.rev(repo, f"refs/heads/{branch_name(wp_id)}")
    except GitError:
        return None


def worktree_root(ws: Workspace, wp: WorkPackageRow) -> Path:
    """Where the WP's work product is: its worktree, or the workspace root."""
    return worktree_path(ws, wp["id"]) if wp.get("target_repo") else ws.root


def base_commit(ws: Workspace, store: Store, wp: WorkPackageRow, root: Path) -> str:
    """What changed files are measured against: the base commit recorded when the runner
    made the worktree; else the WP's `base_ref`; else the commit the worktree branched
    from the target repo's checked-out HEAD (never the worktree's own moving HEAD, which
    would hide committed changes)."""
    recorded = recorded_base(store, wp["id"])
    if recorded:
        return recorded
    if wp.get("base_ref"):
        return str(wp["base_ref"])
    target_head = gitops.run(target_repo_path(ws, wp), "rev-parse", "HEAD").strip()
    return gitops.run(root, "merge-base", "HEAD", target_head).strip()
