"""docs/reference/exit-codes.md and rejection-codes.md: the exit codes from the error
tree of `cockpit.errors`, the rejection codes from `cockpit.domain.RejectionCode` in the
order they are checked, each with what it means and what to do. A code without its two
sentences here stops the generator."""

from __future__ import annotations

from cockpit import errors
from cockpit.domain import RejectionCode
from cockpit.engine.entries.models import MAX_ENTRY_BYTES
from cockpit.reference.markdown import banner, page, table

R = RejectionCode
# code -> (what it means, what to do about it)
REJECTIONS: dict[RejectionCode, tuple[str, str]] = {
    R.SYMLINK: (
        "The queue file is a symbolic link.",
        "Place the file itself (a copy), not a link to it.",
    ),
    R.TOO_LARGE: (
        f"The file is over {MAX_ENTRY_BYTES:,} bytes.",
        "Keep long output out of the entry: cite the file by `ref` and `sha256`.",
    ),
    R.PARSE_ERROR: (
        "Not UTF-8, not YAML, a duplicate key, a `.md` without front matter, not a mapping "
        "of fields, or not a regular file.",
        "The message says where; compare with the examples in [entries.md](entries.md).",
    ),
    R.UNSAFE_YAML: (
        "YAML anchors, aliases or tags that build objects.",
        "Write plain data: repeat a value instead of an alias, drop `!tags`.",
    ),
    R.UNKNOWN_KIND: (
        "`kind` is missing or not one of the entry kinds.",
        "Use one of the kinds of [entries.md](entries.md#kinds).",
    ),
    R.BAD_ID: (
        "`id` or `work_package` is missing or not `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.",
        "Use letters, digits, `.`, `_` and `-`, starting with a letter or digit.",
    ),
    R.SCHEMA_ERROR: (
        "A field is missing, of the wrong type, unknown (typos are errors) or breaks a "
        "rule of its kind (a lane cockpit.yaml does not name, a missing rollback plan, "
        "`description` given twice); or the entry could not be applied.",
        "The message names the field; [entries.md](entries.md) has every field's rules.",
    ),
    R.REPLAY_CONFLICT: (
        "An entry with this id was already ingested with other bytes, or the id was used "
        "up by a signed entry.",
        "Entries never change: write a new entry with a new id (`CLM-0002`, `CG-0001-v2`).",
    ),
    R.TENANT_MISMATCH: (
        "`tenant` or `workspace` is not this workspace's; or signatures are required and "
        "the entry does not name them.",
        "Copy `tenant` and `workspace` from cockpit.yaml into the entry.",
    ),
    R.UNKNOWN_PRINCIPAL: (
        "The author, a dispatch target or a recovery owner is not declared in cockpit.yaml.",
        "Fix the name, or declare the principal under `principals`.",
    ),
    R.UNSIGNED: (
        "Signatures are required and the entry has no `NAME.sig`.",
        "Sign it: `cockpit submit --sign FILE`, or `ssh-keygen -Y sign -n cockpit-entry`.",
    ),
    R.BAD_SIGNATURE: (
        "The signature does not verify, or its key is not one of the principal's.",
        "Sign the file's final bytes (again, after any edit) with a key the principal's "
        "`keys` list.",
    ),
    R.STALE_ENTRY: (
        "A signed entry whose `created` is older than `policy.max_entry_age_s`.",
        "Write it again with a new id and the current time, and sign it.",
    ),
    R.CAPABILITY_DENIED: (
        "The author lacks the kind's capability; a dispatch target cannot claim or does "
        "not serve the WP's lane; or someone who worked on the WP gave its `go` or "
        "acceptance.",
        "Have a principal with the capability write it (or give its role the capability); "
        "a review comes from someone who did not work on the WP.",
    ),
    R.UNKNOWN_WORK_PACKAGE: (
        "The WP it names has not been booked.",
        "Book the WP first, or in the same batch with an earlier `created`.",
    ),
    R.PATH_ESCAPE: (
        "A surface glob or an evidence `ref` is absolute, starts with `~` or uses `..`.",
        "Write paths relative to the WP's worktree.",
    ),
    R.BAD_REF: (
        "A ref or cited evidence names no ingested entry, or its `@sha256:` pin does not "
        "match; or an acceptance whose admitted work changed or whose `merge_sha` does not "
        "hold it.",
        "Ingest what you cite first, and pin the hash `sha256sum` prints for its file.",
    ),
    R.NOT_ASSIGNEE: (
        "A claim or scope confirmation not from the principal the WP is dispatched to.",
        "The assignee files it; or dispatch the WP to its author.",
    ),
    R.ILLEGAL_TRANSITION: (
        "The lifecycle does not allow it from the WP's state (or a common-ground version "
        "that does not follow the latest, a veto lifted when none stands).",
        "`cockpit status WP` shows the state; [entries.md](entries.md#kinds) shows where "
        "each kind may move a WP.",
    ),
}

# Commands whose exit code 1 says more than "refused".
REFUSALS = (
    ("`cockpit verify WP`", "The gate withheld the claim (any outcome but `success`)."),
    ("`cockpit audit verify`", "The chain, a checkpoint or a signature does not hold."),
    ("`cockpit replay`", "The rebuilt projections differ, or an event is refused."),
    ("`cockpit commission CAND`", "The Canon Gate refused the candidate."),
    ("`cockpit rollback WP`", "The rollback could not be validated (`rollback_failed`)."),
    (
        "`cockpit run --once`",
        "Entries failed for a reason of the machine; they wait in `queue/cur/` for the next run.",
    ),
    ("`cockpit run`", "Another runner holds the workspace (its pid and host are named)."),
    (
        "any action",
        "The principal lacks the capability, the WP's state does not allow it, "
        "or the signature the workspace requires is missing or wrong.",
    ),
)


def _error_classes() -> list[type[errors.CockpitError]]:
    found: list[type[errors.CockpitError]] = []
    pending = [errors.CockpitError]
    while pending:
        cls = pending.pop(0)
        if cls.__module__ == errors.__name__:
            found.append(cls)
        pending += cls.__subclasses__()
    return found


def render_exit_codes() -> str:
    rows = [
        (f"`{cls.__name__}`", cls.exit_code, " ".join((cls.__doc__ or "").split()))
        for cls in _error_classes()
    ]
    return page(
        banner("Exit codes", ("cockpit/errors.py", "cockpit/reference/codes.py")),
        "Every `cockpit` command exits with one of three codes, so a script can tell a "
        "refusal from a mistake:",
        table(
            ("code", "meaning"),
            [
                ("0", "It worked (for a check: it holds)."),
                ("1", "Refused: a check failed or an action was not allowed."),
                ("2", "Usage or input error: a bad argument, file, config or workspace."),
            ],
        ),
        "An error is one sentence on stderr. With `--json`, a document is printed on stdout "
        'whatever the exit code: the command\'s own, or `{"error": SENTENCE, '
        '"exit_code": N}` when it failed before it had one.',
        "## Where each code comes from",
        "Each error Cockpit reports is of one of these kinds (others derive from them):",
        table(("error", "exit code", "when"), rows),
        "Usage errors found by the argument parser (an unknown option, a missing argument, a "
        "value not among the choices) exit 2. A file that cannot be read or written exits 2; "
        "a workspace database that cannot be used exits 1.",
        "## Commands whose 1 says more",
        table(("command", "exit 1 means"), REFUSALS),
        "`cockpit submit` exits 2 when a file is refused: none of the files given is queued.",
    )


def render_rejection_codes() -> str:
    missing = [code.value for code in RejectionCode if code not in REJECTIONS]
    if missing:
        raise ValueError(f"rejection codes without their text here: {', '.join(missing)}")
    rows = [(n, f"`{code.value}`", *REJECTIONS[code]) for n, code in enumerate(RejectionCode, 1)]
    return page(
        banner("Rejection codes", ("cockpit/domain.py", "cockpit/reference/codes.py")),
        "An entry the runner refuses is moved to `queue/rejected/NAME`, with "
        '`NAME.reason.json` beside it (`{"code", "message", "entry_id"}`), and recorded '
        "as an `entry_rejected` event. `cockpit rejected` lists them; `cockpit submit` "
        "refuses the same files before they are queued.",
        "The checks run in this order and the first that fails is reported. The first seven "
        "need only the file; the rest also read cockpit.yaml and what was ingested before.",
        table(("order", "code", "means", "what to do"), rows),
        "The runner never stops on an entry: whatever a file holds, it is ingested or "
        "rejected. A file younger than a second that does not parse yet (or whose signature "
        "has not arrived) is left for the next sweep instead.",
    )
