"""The documents of `cockpit deliver` and `cockpit attest verify` (SPEC 11.3)."""

from __future__ import annotations

from cockpit.reference.documents.base import EVENT_KEYS, Document, doc
from cockpit.reference.shapes import key

DOCUMENTS: tuple[Document, ...] = (
    doc(
        "deliver",
        "object",
        "The `delivered` event the delivery appended ([event types](event-types.md)).",
        *EVENT_KEYS,
        when="without --plan",
    ),
    doc(
        "deliver",
        "object",
        "What the delivery would do now; nothing is recorded, signed or changed.",
        key("work_package", "string", "The WP's id."),
        key("via", "string", "`merge`, `push` or `pr`."),
        key("target_repo", "string", "The target repo's path."),
        key("base", "string", "The base branch: merged into, or the pull request's base."),
        key("base_sha", "string | null", "Its tip now (null: no such local branch)."),
        key("head", "string", "The commit delivered: the verified head at acceptance."),
        key(
            "commits",
            "array of object",
            "The commits the head holds that the base does not, newest first (at most 200).",
            key("sha", "string", "The commit."),
            key("subject", "string", "Its first line, as the agent wrote it."),
        ),
        key("more_commits", "integer", "Commits not listed past the first 200."),
        key("validation", "array of string", "`merge`: the commands re-run on the merged tree."),
        key("remote", "string | null", "`push`, `pr`: the remote pushed to."),
        key("remote_ref", "string | null", "`push`, `pr`: the branch there."),
        key(
            "checked_out",
            "string | null",
            "The working tree where the base is checked out (fast-forwarded, if clean).",
        ),
        when="with --plan",
    ),
    doc(
        "attest verify",
        "object",
        "Whether the attestation holds, checked offline with the runner's public key.",
        key("ok", "boolean", "The signature verifies and the statement is about the commit."),
        key("reason", "string | null", "Why not, in one sentence (null when ok)."),
        key("keyid", "string | null", "The runner key's `SHA256:` fingerprint checked with."),
        key("subject", "string | null", "The commit it is about (its `gitCommit` digest)."),
        key("work_package", "string | null", "The WP delivered."),
        key("predicate_type", "string | null", "`https://cockpit.dev/delivery/v1`."),
        key("via", "string | null", "`merge`, `push` or `pr`."),
    ),
)
