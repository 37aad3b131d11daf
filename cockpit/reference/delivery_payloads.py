"""The payloads of the events SPEC 11 adds: delivery, its refusal, worktree pruning and
the approval of a worktree setup script."""

from __future__ import annotations

from cockpit.domain import EventType
from cockpit.reference.event_blocks import REASON, EventDoc, k, optional

DELIVERY_EVENTS: dict[EventType, EventDoc] = {
    EventType.DELIVERED: EventDoc(
        "A complete WP's verified head was delivered: merged into its base branch, pushed, "
        "or pushed and proposed as a pull request.",
        "`cockpit deliver` (the owner's signed action)",
        (
            k("via", "string", "`merge`, `push` or `pr`."),
            k("base", "string", "The base branch."),
            k("base_sha", "string | null", "The base branch's tip before the delivery."),
            k("head", "string", "The commit delivered: the WP's latest verified head."),
            k("validated", "boolean", "Whether validation was re-run on the merged tree."),
            *optional(
                k("merge_sha", "string", "`merge`: the commit the base branch now points at."),
                k("remote_ref", "string", "`push`, `pr`: the remote and branch pushed."),
                k("url", "string", "`pr`: the pull request's address."),
                k("attestation", "string", "The provenance attestation's path."),
                k("checkpoint", "object", "The signed checkpoint written before delivering."),
            ),
        ),
    ),
    EventType.DELIVERY_REFUSED: EventDoc(
        "A delivery was refused; nothing was changed.",
        "`cockpit deliver`",
        (k("via", "string", "`merge`, `push` or `pr`."), REASON),
    ),
    EventType.WORKTREE_PRUNED: EventDoc(
        "A worktree (and its branch) of a finished WP, or an orphan, was removed.",
        "`cockpit worktrees prune`, or the runner after `worktrees.keep_days`",
        (
            k("path", "string", "The worktree removed."),
            k("branch", "string | null", "The branch removed with it."),
            k("state", "string | null", "The WP's state (null for an orphan)."),
            k("dirty", "boolean", "Whether it held uncommitted changes (`--force`)."),
        ),
    ),
    EventType.SETUP_APPROVED: EventDoc(
        "The owner approved a worktree setup script's content for a target repo.",
        "`cockpit worktrees approve-setup` (the owner's signed action)",
        (
            k("target_repo", "string", "The target repo, as WPs book it."),
            k("sha256", "string", "The approved sha256 of the setup script file."),
        ),
    ),
}
