"""What a person does about worktrees (SPEC 11.4): approve a setup script's content,
and prune finished worktrees. Both need the `deliver` capability and are signed actions
(SPEC 10.1) on no work package: their document's `work_package` is null and its `at`
the latest event of the whole log (a prune touches several WPs, an approval a
repository), and their events name no WP either (`payload.work_package` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.domain import Capability, EventType
from cockpit.engine.actions.preconditions import require
from cockpit.engine.repo import gitops, housekeeping, provisioning
from cockpit.engine.repo.provisioning import Script
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError, Refused
from cockpit.store import Event, NewEvent, Store

APPROVE_ACTION = "approve_setup"
PRUNE_ACTION = "prune_worktrees"


@dataclass(frozen=True)
class Approval:
    """The script approved (or found approved already: `event` None)."""

    target_repo: str
    repo: Path
    script: Script
    event: Event | None

    def to_json(self) -> dict[str, Any]:
        return {
            "target_repo": self.target_repo,
            "script": self.script.path,
            "commit": self.script.commit,
            "sha256": self.script.sha256,
            "approved": self.event is not None,
            "seq": self.event.seq if self.event is not None else None,
        }


def _repo_named(ws: Workspace, store: Store, repo: str | None) -> tuple[str, Path]:
    """The target repo `repo` names (as booked, when a WP books it), or the only one
    the store's WPs name. Raises InputError when that is not one repository."""
    in_use = provisioning.repos_in_use(ws, store)
    if repo is None:
        if len(in_use) == 1:
            path, name = next(iter(in_use.items()))
            return name, path
        if not in_use:
            raise InputError("no work package names a target repo: name the repository (REPO)")
        listed = ", ".join(sorted(in_use.values()))
        raise InputError(f"work packages name several target repos ({listed}): name one (REPO)")
    path = (ws.root / repo).resolve()
    return in_use.get(path, repo), path


def approve_setup(
    ws: Workspace,
    store: Store,
    by: str,
    repo: str | None = None,
    ref: str | None = None,
    *,
    sign: trust_actions.Sign | None = None,
) -> Approval:
    """Approve the setup script as commit `ref` (default: HEAD) of the target repo holds
    it, recording `setup_approved {target_repo, sha256, script, commit}`. Raises Refused
    (no capability, no setup configured, no such script, a signature that does not
    hold) or InputError (which repository is meant)."""
    require(ws, by, Capability.DELIVER)
    path_in_repo = ws.config.worktrees.setup_script
    if path_in_repo is None:
        raise Refused("worktrees.setup is not set in cockpit.yaml: there is no setup script")
    name, path = _repo_named(ws, store, repo)
    if not path.is_dir() or gitops.top_level(path) != path:
        raise InputError(f"{path} is not the top of a git repository")
    try:
        commit = gitops.rev(path, ref or "HEAD")
    except gitops.GitError:
        raise InputError(f"{ref or 'HEAD'} names no commit in {path}") from None
    script = provisioning.script_at(path, commit, path_in_repo)
    if script.sha256 in provisioning.approved_hashes(ws, store, path):
        return Approval(name, path, script, None)
    args = {
        "target_repo": name,
        "script": script.path,
        "commit": script.commit,
        "sha256": script.sha256,
    }
    signed = trust_actions.sign_with(ws, store, sign, APPROVE_ACTION, None, args, by)
    with store.transaction():
        signature = trust_actions.check(ws, store, signed, APPROVE_ACTION, None, args, by)
        event = store.append(
            NewEvent(EventType.SETUP_APPROVED, None, by, None, {**args, "signature": signature})
        )
    return Approval(name, path, script, event)


@dataclass
class Pruned:
    """What a prune removed (with its events), and what it left and why."""

    dry_run: bool
    force: bool
    removed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "force": self.force,
            "removed": self.removed,
            "skipped": self.skipped,
        }


def _named(ws: Workspace, item: housekeeping.Found, reason: str | None = None) -> dict[str, Any]:
    shown = {
        "work_package": item.name,
        "path": item.shown_path(ws),
        "branch": item.branch,
        "state": item.state,
        "finished": item.finished,
        "dirty": bool(item.dirty),
    }
    return shown if reason is None else {**shown, "reason": reason}


def prune(
    ws: Workspace,
    store: Store,
    by: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    sign: trust_actions.Sign | None = None,
) -> Pruned:
    """Remove the worktrees and branches of finished WPs and orphans (SPEC 11.4): never
    one with uncommitted changes unless `force`, never one whose agent runs. With
    `dry_run`, nothing is signed, removed or recorded. Each removal is a
    `worktree_pruned` event carrying the action's signature. Raises Refused (no
    capability, a signature that does not hold: then nothing is removed)."""
    if not dry_run:
        require(ws, by, Capability.DELIVER)
    planned = housekeeping.plan(ws, store, force=force)
    result = Pruned(dry_run, force)
    result.skipped = [_named(ws, item, why) for item, why in planned.skipped]
    if dry_run:
        result.removed = [_named(ws, item) for item in planned.remove]
        return result
    if not planned.remove:
        return result
    args = {
        "force": force,
        "remove": [
            {"work_package": i.name, "path": i.shown_path(ws), "branch": i.branch}
            for i in planned.remove
        ],
    }
    # Signed and checked before anything is removed: an unsigned prune changes nothing.
    signed = trust_actions.sign_with(ws, store, sign, PRUNE_ACTION, None, args, by)
    signature = trust_actions.check(ws, store, signed, PRUNE_ACTION, None, args, by)
    for item in planned.remove:
        try:
            result.removed.append(housekeeping.remove(ws, item))
        except (WorktreeError, OSError) as exc:
            result.skipped.append(_named(ws, item, f"it could not be removed: {exc}"))
    # One transaction: the events one signature covers stand together in the chain.
    with store.transaction():
        for payload in result.removed:
            signed_payload = {**payload, "signature": dict(signature)}
            new = NewEvent(EventType.WORKTREE_PRUNED, None, by, None, signed_payload)
            result.events.append(store.append(new))
    return result
