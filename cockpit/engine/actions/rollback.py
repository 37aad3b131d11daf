"""Rollback (SPEC 4, 8): `cockpit rollback WP --reason T` on a failed WP.

With a target repo: the failed work (committed, uncommitted and untracked) is kept under
`wp/<WP>-failed-<n>`, the branch `wp/<WP>` is reset to the base commit and the tree is
cleaned. The rollback is validated when the worktree's HEAD is the base commit and the
tree is clean; the WP's validation commands are re-run and recorded for information
only (they test the change being rolled back). Replacement refs planted in the target
repo since the worktree was made are deleted (the owner's git honours them). A worktree
holding repositories of its own is refused: git cannot keep them on the failed ref, and
cleaning would delete them. The outcome is `rollback_completed`
(failed → rolled_back) or `rollback_failed` (the WP stays failed, with the reason).
"""

from __future__ import annotations

from typing import Any

from cockpit.domain import EventType, State
from cockpit.engine.actions.preconditions import check
from cockpit.engine.gate.commands import run_command, validation_env, validation_sandbox
from cockpit.engine.lifecycle.transitions import Trigger, transition
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import gitops, worktrees
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError
from cockpit.store import Event, NewEvent, Store


def rollback(
    ws: Workspace,
    store: Store,
    wp_id: str,
    reason: str | None,
    by: str,
    *,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Roll a failed WP back to its base; returns the one event recorded
    (`rollback_completed` or `rollback_failed`). Raises Refused if `by` lacks `rollback`,
    the WP is not failed, or its agent is still running; InputError without a reason."""
    if reason is None or not reason.strip():
        raise InputError("a rollback reason is required and must not be empty")
    reason = reason.strip()
    wp = check(ws, store, "rollback", wp_id, by)  # the capability, failed, no agent running
    # Signed and checked before git is touched: an unsigned rollback changes nothing.
    args = {"reason": reason}
    signed = trust_actions.sign_with(ws, store, sign, "rollback", wp_id, args, by)
    signature = trust_actions.check(ws, store, signed, "rollback", wp_id, args, by)

    payload: dict[str, Any] = {"reason": reason, "signature": signature}
    ok, detail = True, ""
    if not wp.get("target_repo"):
        payload.update(worktree=None, detail="no target repo: there is nothing to reset")
    else:
        worktree = worktrees.worktree_path(ws, wp_id)
        payload["worktree"] = str(worktree.relative_to(ws.root))
        try:
            tree = worktrees.open_worktree(ws, store, wp)
            base = worktrees.base_commit(ws, store, wp, worktree)
            payload["base_commit"] = base
            reset = worktrees.reset_to_base(tree, wp_id, base)
            payload.update(reset.payload())
            planted = worktrees.planted_replace_refs(store, tree, wp_id)
            for ref, obj in sorted(planted.items()):
                gitops.run(tree, "update-ref", "-d", ref, obj)
            if planted:
                payload["replace_refs_removed"] = planted
            # Hooks or config written into the shared git directory are reported, not
            # undone: the owner may have made them, and must look.
            changed = worktrees.git_dir_changes(store, tree, wp_id)
            if changed:
                payload["git_dir_changed"] = changed
                # Reported here, to a human: the directory as it is becomes the baseline.
                payload["git_dir_files"] = gitops.git_dir_fingerprint(tree)
            commands = (wp.get("body") or {}).get("validation_commands") or []
            if commands:  # for information: they test the change being rolled back
                env = validation_env(ws, wp_id)
                timeout = ws.config.policy.validation_timeout_s
                box = validation_sandbox(ws, wp)  # in the WP's sandbox, read-only (SPEC 10.3)
                payload["validation"] = [
                    run_command(c, worktree, timeout, env, None, box).to_json() for c in commands
                ]
                gitops.run(tree, "read-tree", "--reset", "-u", base)
                gitops.run(tree, "clean", "-ffdxq")
            head = gitops.rev(tree, "HEAD")
            branch = gitops.current_branch(tree)
            left = repo_content.changes(tree, base).paths
            payload.update(head=head, branch=branch, clean=not left)
            if head != base:
                ok, detail = False, f"the worktree is not at the base commit {base[:12]}"
            elif branch != worktrees.branch_name(wp_id):
                ok, detail = False, f"the worktree is not on {worktrees.branch_name(wp_id)}"
            elif left:
                ok, detail = False, f"{len(left)} path(s) still differ from the base"
        except (WorktreeError, gitops.GitError, RuntimeError, OSError) as exc:
            ok, detail = False, str(exc)

    with store.transaction():
        now = store.work_package(wp_id)
        if now is None or now["state"] != State.FAILED:
            # The git half happened; say so on the record, without a transition.
            state = now["state"] if now else "gone"
            ok, detail = False, f"{wp_id} moved to {state} while it was rolled back"
        if ok:
            target = transition(State.FAILED, Trigger.ROLLBACK)
            payload["transition"] = {"from": State.FAILED.value, "to": target.value}
            event = store.append(NewEvent(EventType.ROLLBACK_COMPLETED, wp_id, by, None, payload))
        else:
            payload["error"] = detail
            event = store.append(NewEvent(EventType.ROLLBACK_FAILED, wp_id, by, None, payload))
    return [event]
