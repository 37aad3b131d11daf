"""The documents of `cockpit worktrees` and its subcommands (SPEC 11.4)."""

from __future__ import annotations

from cockpit.reference.documents.base import Document, doc
from cockpit.reference.shapes import Shape, key

_NAMED = (
    key("work_package", "string", "The WP's id, or the orphan's name."),
    key("path", "string | null", "Its worktree (null: a branch alone)."),
    key("branch", "string | null", "Its branch `wp/<WP>` (null: none)."),
    key("state", "string | null", "The WP's state (null: an orphan)."),
    key("finished", "string", "`cancelled`, `rolled_back`, `delivered` or `orphan`."),
    key("dirty", "boolean", "Whether it holds uncommitted changes."),
)


def _removed(meaning: str) -> Shape:
    return key(
        "removed",
        "array of object",
        meaning,
        *_NAMED,
        key("head", "string | null", "The commit its branch pointed at.", optional=True),
        key("branch_kept", "string", "Why its branch was not deleted.", optional=True),
    )


DOCUMENTS: tuple[Document, ...] = (
    Document(
        "worktrees",
        "",
        Shape(
            "",
            "array of object",
            "Every worktree under `worktrees/` and `wp/*` branch of the target repos in use, "
            "orphans (no WP in the store) included.",
            (
                key("work_package", "string", "The WP's id, or the orphan's name."),
                key("path", "string | null", "Its directory (null: a branch alone)."),
                key("branch", "string | null", "Its branch `wp/<WP>` (null: none)."),
                key("state", "string | null", "The WP's state (null: an orphan)."),
                key("size_bytes", "integer | null", "The size of its files (links not followed)."),
                key("age_s", "integer | null", "Seconds since it was made."),
                key("dirty", "boolean", "Whether it holds uncommitted changes."),
            ),
        ),
    ),
    doc(
        "worktrees prune",
        "object",
        "What the prune removed (or, with `--dry-run`, would remove) and what it kept.",
        key("dry_run", "boolean", "Nothing was changed."),
        key("force", "boolean", "Worktrees with uncommitted changes were removed too."),
        _removed("Each removed (one `worktree_pruned` event each), in name order."),
        key(
            "skipped",
            "array of object",
            "Each finished one or orphan kept, with why.",
            *_NAMED,
            key("reason", "string", "Why it was kept."),
        ),
    ),
    doc(
        "worktrees approve-setup",
        "object",
        "The setup script approved (`setup_approved`), or found approved already.",
        key("target_repo", "string", "The target repo, as WPs book it."),
        key("script", "string", "The setup script's path in the repo."),
        key("commit", "string", "The commit it was read at."),
        key("sha256", "string", "Its content's sha256."),
        key("approved", "boolean", "`false`: it was approved already; nothing was recorded."),
        key("seq", "integer | null", "The `setup_approved` event's seq."),
    ),
)
