"""The document of `cockpit diff WP --json`: the change under review (SPEC 11.1;
docs/review-and-delivery.md, "The change")."""

from __future__ import annotations

from cockpit.reference.documents.base import Document, doc
from cockpit.reference.shapes import key

_LINE = (
    key("kind", "string", '`"+"` added, `"-"` removed, `" "` context.'),
    key("old_line", "integer | null", "Its number in the base's file (null: added)."),
    key("new_line", "integer | null", "Its number in the new file (null: removed)."),
    key(
        "text",
        "string",
        "The line without its line end, as data (control and bidirectional characters kept; "
        "bytes that are not UTF-8 read as U+FFFD).",
    ),
    key("no_newline", "boolean", "`true`: the file ends here without a newline.", optional=True),
)
_HUNK = (
    key("old_start", "integer", "Where the hunk starts in the base's file."),
    key("old_lines", "integer", "Lines it shows of the base's file."),
    key("new_start", "integer", "Where it starts in the new file."),
    key("new_lines", "integer", "Lines it shows of the new file."),
    key("section", "string", "What git names after the `@@` header: the enclosing line."),
    key("lines", "array of object", "Its lines, in order.", *_LINE),
)
_FILE = (
    key("path", "string", "The file's path (a deleted file's old path)."),
    key("status", "string", "`added`, `modified`, `deleted` or `renamed`."),
    key("old_path", "string | null", "A renamed file's old path."),
    key("additions", "integer", "Lines added, shown or not (0 for a binary file)."),
    key("deletions", "integer", "Lines removed, shown or not."),
    key("binary", "boolean", "Either side holds a NUL byte: no lines are shown."),
    key(
        "scope",
        "string",
        "`owned`, `forbidden` or `outside`, as `scope_respected` classifies it (a rename: "
        "the worse of its two paths).",
    ),
    key(
        "flag",
        "string | null",
        "`attributes` (.gitattributes), `submodules` (.gitmodules), `ci` (CI configuration), "
        "`repository` (a commit pointer: a submodule, or a repository inside the worktree, "
        "whose files are not shown).",
    ),
    key("symlink", "boolean", "A symbolic link on either side (its text is the link's target)."),
    key("old_mode", "string | null", "Git's mode of the old file (`100644`, `120000`...)."),
    key("new_mode", "string | null", "Git's mode of the new file."),
    key("old_size", "integer | null", "Bytes of the old file."),
    key("new_size", "integer | null", "Bytes of the new file."),
    key("old_sha256", "string | null", "A binary file's old content's SHA-256."),
    key("new_sha256", "string | null", "A binary file's new content's SHA-256."),
    key("truncated", "boolean", "Its hunks are cut: 1 MiB of diff per file, 50,000 lines."),
    key("omitted", "boolean", "Past the change's 50,000 lines: named and counted, not shown."),
    key("hunks", "array of object", "The diff's hunks.", *_HUNK),
)

DOCUMENTS: tuple[Document, ...] = (
    doc(
        "diff",
        "object",
        "The WP's change: from its base commit to its worktree's content, or, once "
        "complete, to the head its acceptance verified.",
        key("work_package", "string", "The WP."),
        key("base", "string", "The base commit (recorded when the worktree was made)."),
        key(
            "head",
            "string | null",
            "The verified head shown (null: worktree content not verified as it is).",
        ),
        key("tree", "string", "The git tree shown."),
        key("source", "string", "`verified` (a complete WP's accepted head) or `worktree`."),
        key("additions", "integer", "Lines added in all."),
        key("deletions", "integer", "Lines removed in all."),
        key("files", "array of object", "Each file that differs, by path.", *_FILE),
        key(
            "committed_only",
            "array of object",
            "Paths the WP's commits change whose content is back as it was: "
            "`scope_respected` counts them too.",
            key("path", "string", "The path."),
            key("scope", "string", "Its scope mark."),
        ),
    ),
)
