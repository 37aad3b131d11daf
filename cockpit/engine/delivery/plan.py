"""What a delivery will do (SPEC 11.3), worked out before anything is done: the way (`merge`,
`push`, `pr`), the base branch and its tip, the commits of the verified head it takes
there, the validation it re-runs, the remote. The TUI shows it for confirmation; `deliver`
works from it. Reading only: nothing is recorded, signed or changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from cockpit.domain import State
from cockpit.engine.config.delivery import DeliveryVia
from cockpit.engine.delivery import facts
from cockpit.engine.repo import gitops, worktrees
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError, NotFound, Refused
from cockpit.store import Event, Store
from cockpit.store.rows import WorkPackageRow

VIAS: tuple[str, ...] = get_args(DeliveryVia)
COMMITS_SHOWN = 200  # a plan lists at most this many commits (and says how many more)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str  # the commit's first line: the agent's words (untrusted)


@dataclass(frozen=True)
class Plan:
    """What `deliver` would do now."""

    work_package: str
    via: str
    repo: Path
    base: str  # the branch merged into, or the pull request's base
    base_sha: str | None  # its tip now (None: no such local branch, for push and pr)
    head: str  # the verified head at acceptance: what is delivered
    commits: tuple[Commit, ...]
    more_commits: int  # commits not listed past COMMITS_SHOWN
    validation: tuple[str, ...]  # re-run on the merged tree (merge only)
    remote: str | None  # push and pr
    remote_ref: str | None  # the branch pushed: refs/heads/wp/<WP>
    checked_out: Path | None  # a working tree where the base branch is checked out
    pushed: Event | None  # the earlier push a pr follows

    def to_json(self) -> dict[str, Any]:
        return {
            "work_package": self.work_package,
            "via": self.via,
            "target_repo": str(self.repo),
            "base": self.base,
            "base_sha": self.base_sha,
            "head": self.head,
            "commits": [{"sha": c.sha, "subject": c.subject} for c in self.commits],
            "more_commits": self.more_commits,
            "validation": list(self.validation) if self.via == "merge" else [],
            "remote": self.remote,
            "remote_ref": self.remote_ref,
            "checked_out": str(self.checked_out) if self.checked_out else None,
        }


def chosen_via(ws: Workspace, wp: WorkPackageRow, via: str | None) -> str:
    """`via`, else the config's for the WP's target repo. Raises InputError if unknown."""
    chosen = via or ws.config.delivery.for_repo(wp.get("target_repo")).via or "merge"
    if chosen not in VIAS:
        raise InputError(f"--via {chosen!r} is not one of: {', '.join(VIAS)}")
    return chosen


def plan(ws: Workspace, store: Store, wp_id: str, via: str | None = None) -> Plan:
    """What delivering `wp_id` by `via` (default: the config's) would do now. Raises
    NotFound (no such WP), InputError (an unknown `via`) or Refused, in one sentence, when
    the delivery would be refused before anything is tried: the WP is not complete, is
    vetoed, has no target repo or no verified head at acceptance (or was overridden since),
    was delivered already, or the repo, its base branch or remote cannot be used."""
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    chosen = chosen_via(ws, wp, via)
    problem = deliverable(store, wp)
    if problem is not None:
        raise Refused(problem)
    pushed = _earlier(store, wp_id, chosen)
    accepted = facts.acceptance(store, wp_id)
    assert accepted is not None and accepted.head is not None
    repo = worktrees.target_repo_path(ws, wp)
    settings = ws.config.delivery.for_repo(wp.get("target_repo"))
    if gitops.top_level(repo) != repo:
        raise Refused(f"the target repo {repo} is not the top of a git repository")
    head = accepted.head
    try:
        gitops.rev(repo, head)
    except GitError:
        raise Refused(f"the verified head {head[:12]} of {wp_id} is not in {repo}") from None
    base = base_branch(ws, wp, repo)
    base_sha = branch_tip(repo, base)
    if chosen == "merge":
        if base_sha is None:
            raise Refused(f"{repo} has no branch {base} to merge into (delivery.base)")
        if gitops.is_ancestor(repo, head, base_sha):
            raise Refused(f"{base} already contains the verified head {head[:12]} of {wp_id}")
    remote = ref = None
    if chosen in ("push", "pr"):
        remote = settings.remote or "origin"
        _check_remote(repo, remote)
        ref = f"refs/heads/{worktrees.branch_name(wp_id)}"
    since = base_sha or worktrees.recorded_base(store, wp_id)
    commits, more = _commits(repo, since, head)
    return Plan(
        work_package=wp_id,
        via=chosen,
        repo=repo,
        base=base,
        base_sha=base_sha,
        head=head,
        commits=commits,
        more_commits=more,
        validation=tuple(str(c) for c in (wp.get("body") or {}).get("validation_commands") or []),
        remote=remote,
        remote_ref=ref,
        checked_out=checked_out(repo, base),
        pushed=pushed,
    )


def deliverable(store: Store, wp: WorkPackageRow) -> str | None:
    """Why the WP as it stands cannot be delivered (one sentence), or None: it must be
    complete, not vetoed, with a target repo, and with a verified head accepted by a
    review after its last admitting gate run, with no override since."""
    wp_id = wp["id"]
    if wp["state"] != State.COMPLETE:
        return f"{wp_id} is {wp['state']}; only a complete work package is delivered"
    if wp.get("vetoed"):
        return (
            f"{wp_id} has an active veto, so it is not delivered: lift it first "
            f"(cockpit veto {wp_id} --lift --reason ...)"
        )
    if not wp.get("target_repo"):
        return f"{wp_id} has no target repo, so there is no change to deliver"
    accepted = facts.acceptance(store, wp_id)
    if accepted is not None and accepted.head:
        return None
    override = facts.override_since_admitted(store, wp_id)
    if override is not None:
        return (
            f"{wp_id} was moved by an override at seq {override.seq} after its last admitting "
            "gate run, so no review accepted a verified head since and nothing can be "
            "delivered: have it verified and accepted again"
        )
    return (
        f"{wp_id} has no verified head at its acceptance (no gate run recorded the "
        "commit it admitted), so nothing can be delivered"
    )


def _earlier(store: Store, wp_id: str, via: str) -> Event | None:
    """Refuse a second delivery (a `pr` may follow a `push`); the push a pr follows."""
    done = facts.deliveries(store, wp_id)
    if not done:
        return None
    last = done[-1]
    last_via = str(last.payload.get("via"))
    if last_via == "push" and via == "pr" and all(e.payload.get("via") == "push" for e in done):
        return last
    where = last.payload.get("url") or last.payload.get("merge_sha") or last.payload.get("remote")
    raise Refused(
        f"{wp_id} was already delivered by {last_via} at seq {last.seq} ({where}); a work "
        "package is delivered once (only a pr may follow a push)"
    )


def base_branch(ws: Workspace, wp: WorkPackageRow, repo: Path) -> str:
    """The branch a delivery goes to: `delivery.base` (for the WP's target repo), else the
    WP's `base_ref` when it names a branch, else (no `base_ref`) the branch checked out in
    the target repo, which its worktree was made from. Raises Refused if none applies."""
    settings = ws.config.delivery.for_repo(wp.get("target_repo"))
    if settings.base:
        return settings.base.removeprefix("refs/heads/")
    ref = wp.get("base_ref")
    if ref:
        name = str(ref).removeprefix("refs/heads/")
        if gitops.branch_exists(repo, name):
            return name
        raise Refused(
            f"base_ref {ref!r} of {wp['id']} is not a branch of {repo}: name the branch to "
            "deliver to in delivery.base"
        )
    current = gitops.current_branch(repo)
    if current is None:
        raise Refused(
            f"{repo} has no branch checked out: name the branch to deliver to in delivery.base"
        )
    return current


def branch_tip(repo: Path, branch: str) -> str | None:
    """The commit `branch` of `repo` is at (None: no such branch)."""
    try:
        return gitops.rev(repo, f"refs/heads/{branch}")
    except GitError:
        return None


def _check_remote(repo: Path, remote: str) -> None:
    try:
        gitops.run(repo, "remote", "get-url", "--end-of-options", remote)
    except GitError:
        raise Refused(f"{repo} has no remote {remote!r} (delivery.remote)") from None


def _commits(repo: Path, since: str | None, head: str) -> tuple[tuple[Commit, ...], int]:
    """The commits `head` holds that `since` does not, newest first (at most
    COMMITS_SHOWN), and how many more there are."""
    span = f"{since}..{head}" if since else head
    out = gitops.run(repo, "log", "-z", "--format=%H%x1f%s", "--end-of-options", span)
    found = [line.split("\x1f", 1) for line in out.split("\0") if "\x1f" in line]
    commits = tuple(Commit(sha.strip(), subject) for sha, subject in found[:COMMITS_SHOWN])
    return commits, max(len(found) - COMMITS_SHOWN, 0)


def local_config_keys(repo: Path) -> Iterator[str]:
    """The keys the repository's own git config sets (its `.git/config`, a worktree config,
    or what they include: scope local or worktree), as git spells them."""
    out = gitops.run(repo, "config", "-z", "--show-scope", "--list")
    fields = out.split("\0")  # scope NUL key LF value NUL ...
    for scope, setting in zip(fields[::2], fields[1::2], strict=False):
        if scope in ("local", "worktree"):
            yield setting.split("\n", 1)[0]


def checked_out(repo: Path, branch: str) -> Path | None:
    """The working tree of `repo` (its own or a linked one) that has `branch` checked out."""
    out = gitops.run(repo, "worktree", "list", "--porcelain", "-z")
    path: Path | None = None
    for field in out.split("\0"):
        if field.startswith("worktree "):
            path = Path(field.removeprefix("worktree "))
        elif field == f"branch refs/heads/{branch}" and path is not None:
            return path
    return None
