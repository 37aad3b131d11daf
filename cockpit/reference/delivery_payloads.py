"""The payloads of the events SPEC 11 adds: delivery, its refusal, worktree pruning, the
approval of a worktree setup script and a live WP's port range."""

from __future__ import annotations

from cockpit.domain import EventType
from cockpit.reference.event_blocks import EventDoc, k, optional

DELIVERY_EVENTS: dict[EventType, EventDoc] = {
    EventType.DELIVERED: EventDoc(
        "A complete WP's verified head was delivered: merged into its base branch, pushed, "
        "or pushed and proposed as a pull request. Signed as the owner's action; `cockpit "
        "status WP` shows the last one as `delivery` (less its signature).",
        "`cockpit deliver` (the owner's signed action)",
        (
            k("via", "string", "`merge`, `push` or `pr`."),
            k("base", "string", "The base branch (merged into, or the pull request's base)."),
            k(
                "base_sha",
                "string | null",
                "The base's tip before: for `merge`, the tip the merge was made on.",
            ),
            k(
                "expected_base_sha",
                "string | null",
                "The base's tip the signed action named (what the owner confirmed); differs "
                "from `base_sha` only when the merge queue started over on a base that moved "
                "during validation.",
            ),
            k("head", "string", "The commit delivered: the WP's verified head at acceptance."),
            k("validated", "boolean", "Whether validation was re-run on the merged tree."),
            k(
                "audit",
                "object",
                "The WP's record the delivery rests on: `{first_seq, last_seq}`.",
                k("first_seq", "integer", "Its booking's seq."),
                k("last_seq", "integer", "Its latest event's seq before the delivery."),
            ),
            k(
                "checkpoint",
                "object",
                "The checkpoint written before the first change, covering the record so far.",
                k("size", "integer", "The events it covers (seq 1 to size)."),
                k("head", "string | null", "The chain hash at that size."),
                k("merkle_root", "string", "Its RFC 6962 Merkle root (hex)."),
                k("file", "string", "Its file in `.cockpit/checkpoints/`."),
                k("note", "string | null", "Its signed note there (null: no runner key)."),
                k("origin", "string | null", "The note's origin line (null: not signed)."),
            ),
            k(
                "attestation",
                "string | null",
                "The provenance attestation, relative to the workspace (null: no runner key).",
            ),
            *optional(
                k("merge_sha", "string", "`merge`: the commit the base branch now points at."),
                k(
                    "validation",
                    "array of object",
                    "`merge`: each validation command as re-run on the merged tree "
                    "(`{command, exit_code, duration_ms, timed_out, error, output_tail}`).",
                ),
                k("attempts", "integer", "`merge`: 2 when the base moved and it started over."),
                k("remote", "string", "`push`, `pr`: the remote pushed to."),
                k("remote_ref", "string", "`push`, `pr`: the branch there, `refs/heads/wp/<WP>`."),
                k("url", "string", "`pr`: the pull request's address, as `gh` printed it."),
                k(
                    "pr_head",
                    "string | null",
                    "`pr`: the pull request's head commit as GitHub shows it (`gh pr view "
                    "--json headRefOid`; null when gh could not tell).",
                ),
                k(
                    "attestation_error",
                    "string",
                    "Why no attestation was written although a runner key was there.",
                ),
            ),
        ),
    ),
    EventType.DELIVERY_REFUSED: EventDoc(
        "A delivery was refused, and nothing was changed but what `pushed` and `url` say "
        "(a refused capability or signature records nothing at all).",
        "`cockpit deliver` (signed as the owner's action)",
        (
            k("via", "string", "`merge`, `push` or `pr`."),
            k("reason", "string", "Why, in the sentence `cockpit deliver` printed."),
            *optional(
                k("head", "string", "The verified head it would have delivered."),
                k("base", "string", "The base branch it would have gone to."),
                k(
                    "pushed",
                    "object",
                    "`pr` refused after the push: the branch left on the remote, "
                    "`{remote, remote_ref, head, new}` (`new`: pushed now, not there before); "
                    "a later `--via pr` opens the pull request for it.",
                    k("remote", "string", "The remote."),
                    k("remote_ref", "string", "The branch there, `refs/heads/wp/<WP>`."),
                    k("head", "string", "The commit it holds: the verified head."),
                    k("new", "boolean", "Whether this delivery pushed it."),
                ),
                k("url", "string", "A pull request opened before the refusal (to close)."),
            ),
        ),
    ),
    EventType.WORKTREE_PRUNED: EventDoc(
        "A worktree and its branch, of a finished WP (cancelled, rolled back or delivered) "
        "or an orphan (no WP in the store), were removed. The event names no WP (a prune "
        "is one action over several); `work_package` in the payload says which.",
        "`cockpit worktrees prune` (the owner's signed action), or the runner after "
        "`worktrees.keep_days`",
        (
            k("work_package", "string", "The WP's id, or the orphan's name."),
            k("path", "string | null", "The worktree removed (null: a branch alone)."),
            k("branch", "string | null", "The branch deleted with it (null: none, or kept)."),
            k("head", "string | null", "The commit that branch pointed at (to restore it)."),
            k("state", "string | null", "The WP's state (null for an orphan)."),
            k("finished", "string", "`cancelled`, `rolled_back`, `delivered` or `orphan`."),
            k("dirty", "boolean", "Whether it held uncommitted changes (`--force`)."),
            *optional(
                k("branch_kept", "string", "Why the branch was not deleted."),
                k("keep_days", "integer", "The runner's prune: `worktrees.keep_days`."),
            ),
        ),
    ),
    EventType.SETUP_APPROVED: EventDoc(
        "The owner approved the worktree setup script's content for a target repo; it "
        "counts like `worktrees.setup_sha256` from then on. The event names no WP.",
        "`cockpit worktrees approve-setup` (the owner's signed action)",
        (
            k("target_repo", "string", "The target repo, as WPs book it."),
            k("script", "string", "The setup script's path in the repo."),
            k("commit", "string", "The commit it was read at."),
            k("sha256", "string", "The approved sha256 of the setup script file."),
        ),
    ),
    EventType.PORTS_RESERVED: EventDoc(
        "A live WP's range of TCP ports (`COCKPIT_PORT`, `COCKPIT_PORTS`); it holds them "
        "until it stops being live.",
        "the runner",
        (
            k("first", "integer", "The first port (`COCKPIT_PORT`)."),
            k("last", "integer", "The last port."),
            k("range", "string", "`first-last` (`COCKPIT_PORTS`)."),
        ),
    ),
}
