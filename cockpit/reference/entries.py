"""docs/reference/entries.md: every entry kind and field, from the pydantic models of
`cockpit.engine.entries.models`, with the rules the parser and ingest add, the lifecycle
move each kind makes (from the lifecycle table) and an example of each kind."""

from __future__ import annotations

from dataclasses import replace

from cockpit.domain import (
    ENTRY_EVENT_TYPES,
    ID_PATTERN,
    KIND_CAPABILITIES,
    EvidenceClass,
    Kind,
    State,
)
from cockpit.engine.entries.models import BODY_MODELS, ENTRY_SCHEMA, MAX_ENTRY_BYTES, Entry
from cockpit.engine.lifecycle.transitions import KIND_TRIGGERS, REVIEW_TRIGGERS, TABLE, Trigger
from cockpit.engine.queue.maildir import SIG_SUFFIX, YOUNG_SECONDS
from cockpit.engine.trust.sshsig import ENTRY as ENTRY_NAMESPACE
from cockpit.reference import examples
from cockpit.reference.fields import field_rows, table_cells
from cockpit.reference.markdown import banner, code, page, table

SOURCES = (
    "cockpit/engine/entries/models.py",
    "cockpit/domain.py",
    "cockpit/engine/lifecycle/transitions.py",
    "cockpit/reference/examples.py",
)
HEADERS = ("key", "type", "required / default", "rules", "meaning")
_PIN = "`ID` or `ID@sha256:<64 hex>`, naming an ingested entry (`bad_ref`)"
_PATHS = "relative to the worktree; absolute paths, `~` and `..` are `path_escape`"

# Rules checked outside the models (the parser, ingest), by key as written in a file.
ENVELOPE_RULES = {
    "id": f"matches `{ID_PATTERN.pattern}` (`bad_id`); used once (`replay_conflict`)",
    "work_package": f"matches `{ID_PATTERN.pattern}` (`bad_id`); booked (`unknown_work_package`)",
    "principal": "declared (`unknown_principal`), holds the kind's capability",
    "tenant": "the workspace's tenant (`tenant_mismatch`)",
    "workspace": "the workspace's id (`tenant_mismatch`)",
    "refs": f"each {_PIN}",
}
BODY_RULES: dict[Kind, dict[str, str]] = {
    Kind.WORK_PACKAGE: {
        "body.lane": "a lane of cockpit.yaml, when it names lanes",
        "body.owned_surfaces": _PATHS,
        "body.forbidden_surfaces": _PATHS,
        "body.rollback_plan": "required when the tier has `require_rollback_plan`",
        "body.procedure.required_packets": "kinds an agent files (not `work_package`, "
        "`dispatch`, `review`, `veto`), each once",
        "body.procedure.sequence": "has a step in the WP's `lane`",
    },
    Kind.COMMON_GROUND: {"body.version": "exactly one more than the WP's latest version"},
    Kind.DISPATCH: {"body.to": "declared, holds `claim`, serves the WP's lane"},
    Kind.CLAIM: {"body.evidence": f"each {_PIN}"},
    Kind.EVIDENCE: {"body.items[].ref": _PATHS},
    Kind.RECOVERY: {"body.recovery_owner": "declared (`unknown_principal`)"},
}
# More than a field's one-line description says: how the gate and the runner use it.
NOTES: dict[str, str] = {
    "body.owner": "A claim's `owner` must equal it (`ownership_clear`).",
    "body.accountable": "A claim's `accountable` must equal it.",
    "body.tier": "cockpit.yaml's `tiers` gives each tier its evidence floor and what else it "
    "requires; deep asks for a diagnostic review and a rollback plan by default.",
    "body.lane": "A dispatch target that names lanes must serve it.",
    "body.owned_surfaces": "With a target repo, a change outside them fails `scope_respected`.",
    "body.forbidden_surfaces": "They win over the owned surfaces.",
    "body.validation_commands": "Each runs with `sh -c` in the WP's worktree (the workspace "
    "without a target repo), in its sandbox, within `policy.validation_timeout_s`; a deep "
    "tier needs at least one.",
    "body.target_repo": "Relative to the workspace, or absolute. The WP then gets its own "
    "worktree on branch `wp/<WP>`, and the gate checks its changed files.",
    "body.base_ref": "Default: the target repo's HEAD when the worktree is made.",
    "body.labels": "A label listed in `runner.canary_labels` makes the WP a canary.",
    "body.procedure": "Written by `cockpit book --procedure` from the pack (docs/procedures.md); "
    "the handoff tells the WP's agent its lane's steps from it.",
    "body.version": "A claim must pin the latest version (`ground_fresh`).",
    "body.open_questions": "The advisory verifier warns about a claim while some remain.",
    "body.confirmed": "`true` confirms the scope.",
    "body.verdict": "How each verdict moves the WP is said above; `diagnostic` changes no "
    "state, and tiers with `require_diagnostic_review` need one before the claim.",
    "body.merge_sha": "4 to 64 hex digits; the commit must hold the work the gate admitted.",
    "body.done_state": "`partial` and `not_fixed` say so honestly.",
    "body.common_ground": "It must be a common-ground entry of this WP (`common_ground_aligned`).",
    "body.unresolved_questions": "The gate's `no_open_blockers` checks them.",
    "body.items[].class": "The evidence classes are listed at the end of this page.",
    "body.items[].exit_code": "An item whose command did not exit 0 does not count toward "
    "the evidence floor.",
    "body.measured_by": "The runner signs what it measured with its own key; an agent's "
    "evidence leaves it out.",
    "body.record": "Scanned for secrets; a record with a secret is stored redacted.",
    "body.policy_version": "The Canon Gate refuses a record written under another version.",
    "body.lift": "Lifting when no veto stands is `illegal_transition`.",
}
# What each kind fires in the lifecycle table (kinds not named change no state).
FIRES: dict[Kind, list[tuple[str, Trigger]]] = {
    **{kind: [("", trigger)] for kind, trigger in KIND_TRIGGERS.items()},
    Kind.SCOPE_CONFIRMATION: [("with `confirmed: true`", Trigger.SCOPE_CONFIRMATION)],
    Kind.REVIEW: [(f"verdict `{v}`", t) for v, t in REVIEW_TRIGGERS.items()],
}
# What ingest checks about an entry of the kind beyond its fields.
KIND_NOTES: dict[Kind, str] = {
    Kind.WORK_PACKAGE: "Its `work_package` is its own `id`.",
    Kind.SCOPE_CONFIRMATION: "Only the WP's assignee may write one (`not_assignee`), "
    "and only while the WP is dispatched; `confirmed: false` changes no state and flags "
    "the WP for triage.",
    Kind.REVIEW: "A `go` or an `accepted` may not come from anyone who worked on the WP "
    "(its assignee, or who filed a claim or evidence for it): `capability_denied`. An "
    "`accepted` also records `task_completed`; a `rejected` asks for a rollback.",
    Kind.CLAIM: "Only the WP's assignee may file one (`not_assignee`). The advisory "
    "verifier gives its prediction as soon as it is ingested; a live runner then runs "
    "the verify gate on it.",
    Kind.COMMON_GROUND: "Versions go 1, 2, 3, ...: a version that does not follow the "
    "latest is `illegal_transition`.",
    Kind.VETO: "Lifting a veto when none stands is `illegal_transition`.",
}


def _states(states: frozenset[State | None]) -> str:
    named = [s.value for s in State if s in states]
    if None in states:
        named.insert(0, "no WP yet")
    if len(named) > 6:
        return "any state but " + ", ".join(
            s.value for s in State if s not in states and s is not None
        )
    return ", ".join(named)


def moves(kind: Kind) -> str:
    """How an entry of `kind` moves its WP, from the lifecycle table."""
    triggers = FIRES.get(kind)
    if not triggers:
        return "changes no state"
    parts = []
    for when, trigger in triggers:
        allowed, target = TABLE[trigger]
        lead = f"{when}: " if when else ""
        parts.append(f"{lead}{_states(allowed)} → {target.value}")
    return "; ".join(parts)


def _summary() -> str:
    rows = []
    for kind in Kind:
        caps = " or ".join(f"`{c.value}`" for c in KIND_CAPABILITIES[kind])
        event = f"`{ENTRY_EVENT_TYPES[kind].value}`"
        rows.append((f"[`{kind.value}`](#{kind.value})", caps, event, moves(kind)))
    return table(("kind", "capability", "recorded as", "moves the WP"), rows)


def _envelope() -> str:
    rows = [r for r in field_rows(Entry, extra_rules=ENVELOPE_RULES) if r.path[:4] != "body"]
    return table(HEADERS, [table_cells(r) for r in rows])


def _kind_section(kind: Kind) -> str:
    model = BODY_MODELS[kind]
    rows = field_rows(model, "body", BODY_RULES.get(kind, {}))
    shared = [r for r in rows if r.path == "body.description"]  # every kind's: last
    rows = [r for r in rows if r not in shared] + shared
    cells = []
    for row in rows:
        note = NOTES.get(row.path, "")
        if kind is not Kind.WORK_PACKAGE and row.path in ("body.owner", "body.accountable"):
            note = ""
        cells.append(table_cells(replace(row, meaning=f"{row.meaning} {note}".strip())))
    name, text = examples.EXAMPLES[kind]
    caps = " or ".join(f"`{c.value}`" for c in KIND_CAPABILITIES[kind])
    move = moves(kind)
    facts = (
        f"Written by a principal holding {caps}; recorded as "
        f"`{ENTRY_EVENT_TYPES[kind].value}`. "
        + ("It changes no state." if move == "changes no state" else f"It moves the WP: {move}.")
    )
    return page(
        f"### `{kind.value}`",
        (model.__doc__ or "").strip(),
        facts + (" " + KIND_NOTES[kind] if kind in KIND_NOTES else ""),
        table(HEADERS, cells),
        f"Example, `{name}`:",
        code(text, "markdown" if name.endswith(".md") else "yaml"),
    )


FILES = f"""\
## Files in the queue

An entry is one file. A name ending in `.md` is a Markdown entry (below); any other name
is read as YAML (`.yaml` and `.yml` by habit). The fields are the same either way.

- **Placing entries.** `cockpit submit FILE...` checks each file as the runner will
  (format, fields, tenant, principal, capability, paths) and places them all in
  `queue/new/`, or none if one fails. A program may also write a file elsewhere and
  rename it into `queue/new/`; a plain `cp` works too, because a file younger than
  {YOUNG_SECONDS:g} second that does not parse yet is left for the next sweep.
- **Names.** Any name will do. Names starting with `.` or ending in `.tmp` or `.part` are
  never read (a writer's files in progress), and `NAME{SIG_SUFFIX}` is the signature of
  `NAME`, never an entry. A number in front (`01-WP-0001.md`, `02-DSP-0001.yaml`) keeps a
  batch in order for people; the runner ingests by `created`, then `id`, whatever the
  names.
- **Limits.** At most {MAX_ENTRY_BYTES:,} bytes, UTF-8 text, and plain YAML data: no
  anchors, aliases or tags that build objects, no duplicate keys. Symbolic links are
  refused.
- **Identity.** An entry's hash is the SHA-256 of the file's bytes exactly as submitted,
  so anyone can compute it with `sha256sum FILE`. Entries never change: the same `id` with
  the same bytes again is a duplicate (counted, nothing recorded), the same `id` with other
  bytes is a `replay_conflict`.
- **Refusals.** An entry that fails a check is moved to `queue/rejected/NAME` with
  `NAME.reason.json` beside it (`{{"code", "message", "entry_id"}}`) and an
  `entry_rejected` event; `cockpit rejected` lists them. The codes are in
  [rejection-codes.md](rejection-codes.md).
"""

MARKDOWN = """\
## Markdown entries

A Markdown entry opens with its fields as YAML front matter between two `---` lines (the
closing line may also be `...`). Everything after the front matter becomes
`body.description`, whatever the kind, so a work package can carry its background as
ordinary prose; naming `description` in the front matter as well is a `schema_error`. The
[`work_package` example](#work_package) below is a Markdown entry.
"""

REFS = """\
## Refs, pins and paths

`refs` (every kind) and a claim's `body.evidence` name other entries by id. Each may pin
the exact bytes it means as `ID@sha256:<hex>`, the lowercase SHA-256 of that entry's file.
Every ref must name an entry already ingested, and a pin must match its hash: otherwise
the entry is rejected with `bad_ref`. Refs become the lineage's edges (`ref`, `evidence`;
a claim's `common_ground` adds a `common_ground` edge), which `cockpit lineage` and the
TUI's stepper show.

Paths an entry names, the surface globs of a work package and the `ref` of an evidence
item, are relative to the WP's worktree. An absolute path, a `~` or a `..` part is
`path_escape`. In a glob, `*` and `?` stay within one path segment, `**` crosses
directories, and a trailing `/` means everything below that directory. `target_repo`
is the one path that may be absolute: it is set by the owner who books the WP.
"""

SIGNATURES = f"""\
## Signatures

An entry's signature is the file `NAME{SIG_SUFFIX}` beside it in the queue: an OpenSSH
signature (SSHSIG) in namespace `{ENTRY_NAMESPACE}` over the entry file's exact bytes,
which is what `ssh-keygen -Y sign -n {ENTRY_NAMESPACE} -f KEY FILE` writes. People sign
with the keys, ssh-agent and hardware keys they already use for git; `cockpit submit
--sign [--key FILE]` signs and places both files. Place the `.sig` before the entry, or
together with it.

The key must be one of the entry principal's `keys` in cockpit.yaml (or the short-lived
key the runner issued to that agent for that WP). With `policy.signatures: required`:

- an entry without a signature is rejected as `unsigned`, one whose signature does not
  hold or whose key is not the principal's as `bad_signature`, and a signed entry whose
  `created` is more than `policy.max_entry_age_s` before ingest as `stale_entry`;
- a young entry whose signature is not there yet is retried, like a young file that does
  not parse yet;
- every entry must name `tenant` and, when cockpit.yaml names one, `workspace`
  (`tenant_mismatch` otherwise);
- an id is used up by any entry that carried a valid signature, rejected or not, so a
  signed entry can be replayed neither later, nor into another WP or workspace.

With `optional` (the default), an unsigned entry is taken and its event is marked
unsigned.
"""


def _ladder() -> str:
    rows = [(c.rank + 1, f"`{c.value}`") for c in EvidenceClass]
    return page(
        "## Evidence classes",
        "The evidence ladder, weakest first. A claim's strongest cited evidence must reach "
        "the WP's floor (its `evidence_floor`, else its tier's); an item whose `exit_code` "
        "is not 0 does not count. `not_proven` may be listed under `missing`.",
        table(("rank", "class"), rows),
    )


def render() -> str:
    examples.check()
    kinds = [_kind_section(kind) for kind in Kind]
    return page(
        banner("Entries", SOURCES),
        "Everything that happens to a work package starts as an entry: a small YAML or "
        "Markdown file placed in the workspace's `queue/`. The runner checks it, records it "
        "in the audit chain and applies it. This page lists every kind and every field. "
        "Editors can check entries as they are written against the JSON Schema "
        "`cockpit schema` prints: see [editor.md](../editor.md).",
        FILES,
        MARKDOWN,
        "## Fields every entry has",
        f"`schema` is always `{ENTRY_SCHEMA}`. The body's fields depend on `kind`.",
        _envelope(),
        REFS,
        SIGNATURES,
        "## Kinds",
        "Capabilities come from the principal's roles in cockpit.yaml. Every entry is "
        "recorded as one event, whether it moves the WP or not.",
        _summary(),
        *kinds,
        _ladder(),
    )
