"""The change of a WP under review (SPEC 11.1): the diff from its base commit to what the
gate measures, each file marked with its scope as `scope_respected` classifies it.

- A WP in `complete`: base → the verified head at acceptance (what the accepting review
  saw and `deliver` delivers), read from the target repo (the worktree may be gone).
- Any other WP: base → the worktree's content now (`repo.content.changes`: committed or not,
  untracked non-ignored files included). `head` is then the latest verified head if its
  tree is exactly that content, else None (the content was never verified as it is).

The base is the commit recorded when the worktree was made (`worktrees.base_commit`), the
one the gate measures against.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

from cockpit.domain import State
from cockpit.engine.gate import surfaces
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import diff as repo_diff
from cockpit.engine.repo import gitops, verified, worktrees
from cockpit.engine.repo.diff import Diff, FileDiff
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

SCOPES = ("owned", "forbidden", "outside")


@dataclass(frozen=True)
class Change:
    """A WP's change: `diff` (base, tree and files, each file's `scope` set), the `head`
    commit it is (None for worktree content never verified as it is), where it comes from
    (`source`: `verified` or `worktree`), the paths the WP's commits touch that the content
    does not differ in (`committed_only`: `scope_respected` counts them too, by scope), and
    the repository holding its objects (`where`, for reading a file's lines)."""

    work_package: str
    diff: Diff
    head: str | None
    source: str
    committed_only: tuple[tuple[str, str], ...]
    where: gitops.Where

    @property
    def base(self) -> str:
        return self.diff.base

    @property
    def tree(self) -> str:
        return self.diff.tree

    @property
    def files(self) -> tuple[FileDiff, ...]:
        return self.diff.files

    @property
    def additions(self) -> int:
        return self.diff.additions

    @property
    def deletions(self) -> int:
        return self.diff.deletions

    def file(self, path: str) -> FileDiff | None:
        """The file at `path` (a renamed file also by its old path)."""
        found = self.diff.file(path)
        return found or next((f for f in self.files if f.old_path == path), None)

    def to_json(self) -> dict[str, Any]:
        """SPEC 11.1's `--json` document (docs/reference/cli.md, `cockpit diff`)."""
        return {
            "work_package": self.work_package,
            "base": self.base,
            "head": self.head,
            "tree": self.tree,
            "source": self.source,
            "additions": self.additions,
            "deletions": self.deletions,
            "files": [f.to_json() for f in self.files],
            "committed_only": [{"path": p, "scope": s} for p, s in self.committed_only],
        }


def scope_marks(paths: list[str], wp: WorkPackageRow) -> dict[str, str]:
    """Each path's scope, as `scope_respected` classifies changed files (the same
    `surfaces.classify`): `forbidden` if it matches a forbidden surface, else `outside`
    if it matches no owned surface, else `owned`."""
    body = wp.get("body") or {}
    owned, forbidden = body.get("owned_surfaces") or [], body.get("forbidden_surfaces") or []
    touched, outside = surfaces.classify(paths, owned, forbidden)
    marks = {}
    for path in paths:
        marks[path] = "forbidden" if path in touched else "outside" if path in outside else "owned"
    return marks


def _worst(*marks: str) -> str:
    return max(marks, key=lambda mark: ("owned", "outside", "forbidden").index(mark))


def _scoped(
    wp: WorkPackageRow,
    found: Diff,
    head: str | None,
    source: str,
    committed: list[str],
    where: gitops.Where,
) -> Change:
    paths = {f.path for f in found.files} | {f.old_path for f in found.files if f.old_path}
    others = sorted(set(committed) - paths)
    marks = scope_marks(sorted(paths | set(others)), wp)
    files = tuple(
        dataclasses.replace(
            f, scope=_worst(marks[f.path], *([marks[f.old_path]] if f.old_path else []))
        )
        for f in found.files
    )
    return Change(
        str(wp["id"]),
        dataclasses.replace(found, files=files),
        head,
        source,
        tuple((p, marks[p]) for p in others),
        where,
    )


def change_of(ws: Workspace, store: Store, wp: WorkPackageRow) -> Change:
    """The WP's change (see the module's docstring). Raises Refused with one sentence for
    a WP without a target repo or worktree, or when git fails."""
    wp_id = str(wp["id"])
    if not wp.get("target_repo"):
        raise Refused(f"{wp_id} has no target repo, so there is no change to show")
    if wp["state"] == State.COMPLETE:
        at = verified.verified_at_acceptance(store, wp_id)
        if at is not None:
            return _verified_change(ws, store, wp, at.head)
    path = worktrees.worktree_path(ws, wp_id)
    if not (path.exists() or path.is_symlink()):
        raise Refused(
            f"{wp_id} has no worktree at {path} (it is made when the WP is dispatched), so "
            "there is no change to show"
        )
    where = worktrees.open_worktree(ws, store, wp)
    base = gitops.rev(where, worktrees.base_commit(ws, store, wp, where.path))
    content = repo_content.changes(where, base)
    found = repo_diff.diff(where, base, content.tree)
    latest = verified.latest_verified(store, wp_id)
    head = latest.head if latest is not None and latest.tree == content.tree else None
    branch = f"refs/heads/{worktrees.branch_name(wp_id)}"
    committed = gitops.committed(where, base, "HEAD", branch)
    return _scoped(wp, found, head, "worktree", committed, where)


def _verified_change(ws: Workspace, store: Store, wp: WorkPackageRow, head: str) -> Change:
    """The change between the base and a verified head, read in the target repo."""
    repo = worktrees.target_repo_path(ws, wp)
    if not repo.is_dir():
        raise Refused(f"the target repo {repo} of {wp['id']} does not exist")
    path = worktrees.worktree_path(ws, str(wp["id"]))
    root = path if path.is_dir() and not path.is_symlink() else repo
    base = gitops.rev(repo, worktrees.base_commit(ws, store, wp, root))
    with contextlib.suppress(gitops.GitError):
        verified.keep_refs(repo, store, str(wp["id"]))
    found = repo_diff.diff(repo, base, head)
    committed = gitops.committed(repo, base, head)
    return _scoped(wp, found, head, "verified", committed, repo)


def change_at(ws: Workspace, store: Store, wp: WorkPackageRow, head: str) -> Change:
    """The change between the WP's base and `head` (a verified head of the WP), scoped.
    Raises Refused."""
    if not wp.get("target_repo"):
        raise Refused(f"{wp['id']} has no target repo, so there is no change to show")
    return _verified_change(ws, store, wp, head)


def blob_lines(where: gitops.Where, blob: str | None) -> list[str]:
    """The lines of a blob (undecodable bytes as U+FFFD); [] for None."""
    if not blob:
        return []
    text = gitops.run(where, "cat-file", "blob", blob)
    data = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return data.split("\n")[:-1] if data.endswith("\n") else data.split("\n")
