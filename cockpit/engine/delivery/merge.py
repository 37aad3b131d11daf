"""Delivery by merge, as a merge queue does it (SPEC 11.3).

The verified head is merged (`git merge --no-ff`, as Cockpit, hooks off) onto the base
branch's current tip in a scratch worktree of the target repo, detached, under
`.cockpit/merge-queue/`; the WP's validation commands are re-run there in the WP's sandbox
(the scratch worktree and the repository read-only, SPEC 10.3); only if they pass is the
base advanced, with a compare-and-swap on its tip: `git update-ref refs/heads/B NEW OLD`,
or, when B is checked out in a working tree, a fast-forward of that tree (its index and
files too), done only while it is clean and still at OLD. If the base moved meanwhile,
the whole is done once more on the new tip, then refused. A conflict, a failing
validation, a dirty checked-out base, a file there git does not track (an ignored one)
that the update would overwrite, a base that is not at the tip the signed delivery names
when it starts, or a second move refuses the delivery, and nothing is changed. The
scratch worktree is removed whatever happens, and one an interrupted delivery left behind
is removed when the next one starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.engine.delivery.plan import Plan, checked_out, local_config_keys
from cockpit.engine.gate.commands import run_command, validation_env, validation_sandbox
from cockpit.engine.gate.facts import CommandResult
from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.repo.worktrees import COCKPIT_IDENTITY
from cockpit.engine.text import literal
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store.rows import WorkPackageRow

ATTEMPTS = 2  # the first try, and one more when the base moved meanwhile


@dataclass(frozen=True)
class Merged:
    """A merge delivered: the commit the base now points at, the tip it was made on, the
    validation re-run on it, and how many tries it took."""

    merge_sha: str
    base_sha: str
    validation: list[dict[str, Any]]
    attempts: int
    fast_forwarded: Path | None  # the working tree whose checked-out base was moved

    @property
    def validated(self) -> bool:
        return bool(self.validation)


class _Moved(Exception):
    """The base branch is no longer at the tip the merge was made on."""


def merge(
    ws: Workspace,
    wp: WorkPackageRow,
    planned: Plan,
    ready: Callable[[], None],
    stop: threading.Event | None = None,
) -> Merged:
    """Merge `planned.head` into `planned.base` as the module text says, starting from
    the tip the delivery was confirmed on (`planned.base_sha`); `ready` is called right
    before each attempt to advance the base (it re-checks the WP and may refuse); `stop`
    set (a signal) refuses the delivery before the base moves. Raises Refused (one
    sentence) when the delivery is refused; nothing is changed then."""
    clear_leftovers(ws, planned.repo)
    _require_no_merge_driver(planned.repo)
    tree = checked_out(planned.repo, planned.base)
    if tree is not None:
        _require_clean(tree, planned.base)
    for attempt in range(1, ATTEMPTS + 1):
        old = _tip(planned)
        if attempt == 1 and old != planned.base_sha:
            raise moved_since_confirmed(planned, old)
        if gitops.is_ancestor(planned.repo, planned.head, old):
            raise Refused(f"{planned.base} already contains the verified head {planned.head[:12]}")
        new, results = _merge_and_validate(ws, wp, planned, old, stop)
        if tree is not None:
            _require_no_overwrite(tree, planned.base, old, new)
        if stop is not None and stop.is_set():
            raise Refused(_STOPPED)
        ready()
        try:
            moved_tree = _advance(planned, old, new)
        except _Moved:
            continue
        return Merged(new, old, [r.to_json() for r in results], attempt, moved_tree)
    raise Refused(
        f"{planned.base} moved twice while {planned.work_package} was being merged and "
        "validated, so nothing was changed: deliver again"
    )


_STOPPED = "the delivery was stopped (by a signal) before the base moved, so nothing was changed"


def moved_since_confirmed(planned: Plan, now: str | None) -> Refused:
    """The refusal when the base's tip is not the one the signed delivery names."""
    was = (planned.base_sha or "none")[:12]
    return Refused(
        f"{planned.base} moved from {was} to {(now or 'none')[:12]} since the delivery was "
        "confirmed, so nothing was changed: deliver again"
    )


_MERGE_ATTRIBUTE = re.compile(r"(^|\s)[-!]?merge(=|\s|$)")


def _require_no_merge_driver(repo: Path) -> None:
    """Refuse when the repository's own config defines a merge driver (a command git would
    run, outside any sandbox, while merging) or its `info/attributes` chooses how paths
    merge (`merge=union` would hide a conflict): both are writable from an agent's
    worktree. The tree's own `.gitattributes` are the base's, the owner's."""
    for key in local_config_keys(repo):
        if re.fullmatch(r"merge\..+\.driver", key.lower()):
            raise Refused(
                f"{repo}'s own git config defines the merge driver {literal(key)}, a command "
                "git would run while merging, so nothing was changed: remove it, then "
                "deliver again"
            )
    found = gitops.run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    common = Path(found.strip())
    try:
        lines = (common / "info" / "attributes").read_text(errors="replace")
    except OSError:
        return
    if any(_MERGE_ATTRIBUTE.search(line.split("#", 1)[0]) for line in lines.splitlines()):
        raise Refused(
            f"{common}/info/attributes chooses how paths merge (a merge attribute), "
            "which could hide a conflict or run a driver, so nothing was changed: remove it, "
            "then deliver again"
        )


def clear_leftovers(ws: Workspace, repo: Path) -> None:
    """Remove scratch worktrees an interrupted delivery left under `.cockpit/merge-queue/`
    (deliveries run one at a time, so none is in use), and git's record of them."""
    parent = ws.state_dir / "merge-queue"
    try:
        leftovers = list(parent.iterdir())
    except OSError:
        leftovers = []
    for path in leftovers:
        with contextlib.suppress(GitError):
            gitops.run(repo, "worktree", "remove", "--force", "--force", "--", str(path))
        if path.is_symlink() or not path.is_dir():
            with contextlib.suppress(OSError):
                path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
    if leftovers:
        with contextlib.suppress(GitError):
            gitops.run(repo, "worktree", "prune")


def _tip(planned: Plan) -> str:
    try:
        return gitops.rev(planned.repo, f"refs/heads/{planned.base}")
    except GitError:
        raise Refused(f"{planned.repo} has no branch {planned.base} to merge into") from None


def _message(planned: Plan, title: str) -> str:
    return (
        f"Merge {planned.work_package}: {literal(title)}\n\n"
        f"Delivered by Cockpit: the verified head {planned.head} of {planned.work_package}, "
        f"merged onto {planned.base} and validated before {planned.base} moved.\n"
    )


@contextlib.contextmanager
def scratch_worktree(ws: Workspace, repo: Path, wp_id: str, at: str) -> Iterator[Path]:
    """A detached worktree of `repo` at commit `at` under `.cockpit/merge-queue/`,
    removed (and pruned from the repository) when the block ends, whatever happened."""
    parent = ws.state_dir / "merge-queue"
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{wp_id}-", dir=parent))
    try:
        try:
            gitops.run(repo, "worktree", "add", "--detach", "--", str(path), at)
        except GitError as exc:
            raise Refused(f"git could not make the merge queue's scratch worktree: {exc}") from None
        yield path
    finally:
        with contextlib.suppress(GitError):
            gitops.run(repo, "worktree", "remove", "--force", "--force", "--", str(path))
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(GitError):
            gitops.run(repo, "worktree", "prune")


def _merge_and_validate(
    ws: Workspace, wp: WorkPackageRow, planned: Plan, old: str, stop: threading.Event | None
) -> tuple[str, list[CommandResult]]:
    """The merge commit of the verified head onto `old`, made in a scratch worktree, and
    the validation commands' results there. Raises Refused on a conflict or a failure."""
    with scratch_worktree(ws, planned.repo, planned.work_package, old) as scratch:
        try:
            gitops.run(
                scratch,
                "merge",
                "--no-ff",
                "--no-edit",
                "-m",
                _message(planned, wp["title"]),
                "--end-of-options",
                planned.head,
                extra_env=COCKPIT_IDENTITY,
            )
        except GitError as exc:
            raise Refused(_conflict(scratch, planned, old, exc)) from None
        new = gitops.rev(scratch, "HEAD")
        results = _validate(ws, wp, planned, scratch, stop)
    return new, results


def _conflict(scratch: Path, planned: Plan, old: str, exc: GitError) -> str:
    try:
        listed = gitops.run(scratch, "diff", "--name-only", "-z", "--diff-filter=U")
        paths = [p for p in listed.split("\0") if p]
    except GitError:
        paths = []
    where = f"{planned.base} (at {old[:12]})"
    if paths:
        shown = _some(paths)
        return (
            f"the verified head of {planned.work_package} conflicts with {where} in {shown}, "
            "so nothing was changed"
        )
    return (
        f"git could not merge {planned.work_package} into {where} ({exc}), so nothing was changed"
    )


def _some(paths: list[str]) -> str:
    """The first five of `paths`, shown literally, and an ellipsis when there are more."""
    return ", ".join(literal(p) for p in paths[:5]) + (", …" if len(paths) > 5 else "")


def _validate(
    ws: Workspace, wp: WorkPackageRow, planned: Plan, scratch: Path, stop: threading.Event | None
) -> list[CommandResult]:
    """Each validation command run in the scratch worktree, in the WP's sandbox with that
    worktree read-only; Refused at the first that fails, or once `stop` is set (what the
    command started is killed)."""
    env = validation_env(ws, planned.work_package)
    timeout = ws.config.policy.validation_timeout_s
    box = validation_sandbox(ws, wp, scratch)
    results = []
    for command in planned.validation:
        if stop is not None and stop.is_set():
            raise Refused(_STOPPED)
        result = run_command(command, scratch, timeout, env, stop, box)
        if stop is not None and stop.is_set():
            raise Refused(_STOPPED)
        results.append(result)
        problem = _failure(result, timeout)
        if problem is not None:
            raise Refused(
                f"validation failed on {planned.base} merged with {planned.work_package}: "
                f"`{literal(command)}` {problem}, so nothing was changed"
            )
    return results


def _failure(result: CommandResult, timeout: int) -> str | None:
    if result.error:
        return f"could not run ({result.error})"
    if result.timed_out:
        return f"timed out after {timeout} s"
    if result.exit_code != 0:
        return f"exited {result.exit_code}"
    return None


def _require_clean(tree: Path, base: str) -> None:
    """Refuse when the working tree where `base` is checked out holds changes (tracked
    or untracked): a fast-forward would mix them with the delivered work."""
    try:
        dirty = gitops.status_lines(tree)
    except GitError as exc:
        raise Refused(f"{base} is checked out in {tree}, which cannot be read: {exc}") from None
    if dirty:
        raise Refused(
            f"{base} is checked out in {tree}, which has uncommitted changes, so nothing was "
            "changed: commit or put them aside, then deliver again"
        )


def _require_no_overwrite(tree: Path, base: str, old: str, new: str) -> None:
    """Refuse when moving the working tree where `base` is checked out from `old` to `new`
    would write over a file there that git does not track (an ignored one: the tree is
    clean, so no other untracked file is there): git's fast-forward would overwrite it."""
    out = gitops.run(tree, "diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", old, new)
    hit = []
    for name in (p for p in out.split("\0") if p):
        parts = name.split("/")
        for depth in range(1, len(parts) + 1):
            at = tree.joinpath(*parts[:depth])
            leaf = depth == len(parts)
            if at.is_symlink() or (os.path.lexists(at) and (leaf or not at.is_dir())):
                hit.append("/".join(parts[:depth]))
                break
        if len(hit) > 5:
            break
    if hit:
        shown = _some(hit)
        raise Refused(
            f"{base} is checked out in {tree}, where the delivery would overwrite files git "
            f"does not track ({shown}), so nothing was changed: move them aside, then deliver "
            "again"
        )


def _advance(planned: Plan, old: str, new: str) -> Path | None:
    """Move the base from `old` to `new` with a compare-and-swap (or a fast-forward of the
    clean working tree that has it checked out); returns that tree, if any. Raises _Moved
    when the base is no longer at `old`, Refused when it cannot be moved."""
    base = planned.base
    tree = checked_out(planned.repo, base)
    if tree is None:
        try:
            gitops.run(
                planned.repo,
                "update-ref",
                "-m",
                f"cockpit: deliver {planned.work_package}",
                f"refs/heads/{base}",
                new,
                old,
            )
        except GitError as exc:
            if _tip(planned) != old:
                raise _Moved from None
            raise Refused(f"git could not advance {base}: {exc}, so nothing was changed") from None
        return None
    _require_clean(tree, base)
    if gitops.rev(tree, "HEAD") != old:
        raise _Moved
    _require_no_overwrite(tree, base, old, new)
    try:
        gitops.run(
            tree,
            "merge",
            "--ff-only",
            "--no-overwrite-ignore",
            "--no-edit",
            "--end-of-options",
            new,
        )
    except GitError as exc:
        if _tip(planned) != old:
            raise _Moved from None
        raise Refused(
            f"git could not fast-forward {base} in {tree}: {exc}, so nothing was changed"
        ) from None
    return tree
