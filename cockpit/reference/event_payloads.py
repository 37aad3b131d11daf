"""What each event type of `cockpit.domain.EventType` records and its payload's keys,
written here by hand and held against real events by tests/docs/test_json_shapes.py (a
key an event carries that is not named here fails it)."""

from __future__ import annotations

from cockpit.domain import EventType
from cockpit.reference.delivery_payloads import DELIVERY_EVENTS
from cockpit.reference.event_blocks import (
    EDGES,
    ENTRY,
    ERROR,
    REASON,
    SIGNATURE,
    TRANSITION,
    EventDoc,
    k,
    optional,
)
from cockpit.reference.shapes import Shape

_GATE = (
    k("outcome", "string", "`success`, `blocked`, `failed` or `skipped`."),
    k("acceptance_status", "string", "`accepted` or `withheld`."),
    k("predicates", "map of object", "Each predicate's `{status, detail}`."),
    k("blocking_predicate", "string | null", "The first predicate that withheld."),
    k("blocked_reason_class", "string | null", "Its reason class."),
    k("missing_packet_type", "string | null", "A packet kind that was missing."),
    k("evidence_floor_failed", "boolean", "The evidence floor was not met."),
    k("owner_gap", "boolean", "Ownership was not clear."),
    k("stale_ground", "boolean", "The common ground was stale."),
)
_ROLLBACK = (
    REASON,
    k("worktree", "string | null", "The worktree reset (null: no target repo)."),
    *optional(
        k("detail", "string", "Why nothing was reset."),
        k("base_commit", "string", "The commit reset to."),
        k("failed_ref", "string | null", "The branch that keeps the failed work."),
        k("failed_head", "string | null", "Its commit."),
        k("head", "string", "The worktree's HEAD after the reset."),
        k("branch", "string", "Its branch after the reset."),
        k("clean", "boolean", "Whether no path differs from the base."),
        k("replace_refs_removed", "object", "Replace refs planted in the repo, removed."),
        k("git_dir_changed", "array of string", "Changes to the shared git directory, reported."),
        k("git_dir_files", "object", "The git directory's files as they are now."),
        k("validation", "array of object", "The validation commands re-run, for information."),
    ),
)
_AGENT_RUN = (
    k("launch", "integer", "The seq of its `agent_started`."),
    k("principal", "string", "The agent.", opt=True),
    k("exit_code", "integer | null", "Its exit status (null: the runner stopped it)."),
    k("timed_out", "boolean", "Its lane's timeout stopped it."),
)

EVENTS: dict[EventType, EventDoc] = {
    EventType.TASK_CREATED: EventDoc(
        "A work package was booked.", "a `work_package` entry", (*ENTRY, TRANSITION)
    ),
    EventType.DISPATCHED: EventDoc(
        "The WP was handed to an agent.",
        "a `dispatch` entry or `cockpit dispatch`",
        (k("to", "string", "The assignee."), TRANSITION, *optional(*ENTRY)),
    ),
    EventType.WORKTREE_PROVISIONED: EventDoc(
        "The runner made the WP's git worktree.",
        "the runner",
        (
            k("worktree", "string", "Its path."),
            k("branch", "string", "`wp/<WP>`."),
            k("base_commit", "string", "The commit it starts from (the scope's base)."),
            k("target_repo", "string", "The repository."),
            k("git_dir", "string", "The repository's shared git directory."),
            k("git_dir_files", "object", "A fingerprint of its hooks and config."),
            k("replace_refs", "object", "Replace refs found in the repository."),
            k("adopted", "boolean", "An existing worktree was taken over."),
            *optional(
                k(
                    "fetch",
                    "object",
                    "The base's remote fetched first (`worktrees.fetch`): `{remote, ok}`, "
                    "with `error` when it failed.",
                ),
                k("copied", "array of string", "Files of `worktrees.copy` copied in."),
                k("not_copied", "array of object", "Those not copied: `{path, reason}`."),
            ),
        ),
    ),
    EventType.WORKTREE_FAILED: EventDoc(
        "The worktree could not be made; the WP needs a person.", "the runner", (ERROR,)
    ),
    EventType.AGENT_STARTED: EventDoc(
        "The runner started the lane's agent on the WP.",
        "the runner",
        (
            k("principal", "string", "The agent."),
            k("lane", "string", "Its lane."),
            k("command", "array of string", "What was run (secrets left out)."),
            k("stage", "string", "The WP's state when it started."),
            k("next_gate", "string", "What the agent works towards."),
            k("attempt", "integer", "The run's number for this WP (`cockpit logs --run`)."),
            k("handoff", "object", "The handoff file: `{path, sha256}`."),
            k("worktree", "string", "Where it ran."),
            k("timeout_s", "integer", "Its lane's timeout."),
            k("log", "string", "Its output log."),
            k("transcript", "string", "Its transcript."),
            k("sandbox", "string", "What confined it: `bubblewrap` or `none`."),
            k("outbox", "string", "The outbox it files entries in."),
            k("home", "string", "Its private home."),
            *optional(
                k("sandbox_warning", "string", "Why it runs unconfined."),
                k("network", "string", "Its network: `slirp4netns` or `none`."),
                k("private_git", "boolean", "It works on a private git directory."),
                k("sandbox_weakened", "array of string", "Writable paths its lane added."),
                k("driver", "string", "The agent CLI driver."),
                k("model", "string | null", "The model the lane names."),
                k("resumes", "string | null", "The session it resumes."),
                k(
                    "setup",
                    "object",
                    "The worktree's setup that ran just before: `{command, script, sha256, "
                    "sandbox, exit_code, timed_out, timeout_s, duration_ms, output_sha256, "
                    "output_tail}`.",
                ),
            ),
        ),
    ),
    EventType.AGENT_EXITED: EventDoc(
        "An agent run ended (or a runner that died left it; then `lost`).",
        "the runner",
        (
            *_AGENT_RUN,
            *optional(
                k("duration_ms", "integer", "How long it ran."),
                k("timeout_s", "integer", "Its lane's timeout."),
                k("returned", "boolean", "It filed entries."),
                k("moved", "boolean", "The WP's state changed meanwhile."),
                k("state", "string | null", "The WP's state after it."),
                k("log", "string | null", "Its output log."),
                k("output_tail", "string", "The end of its output, redacted."),
                k("transcript", "string", "Its transcript."),
                k("outbox", "object", "What it filed through its outbox."),
                k("git", "object", "What the runner took from its private git directory."),
                k("driver", "string", "The agent CLI driver."),
                k("usage", "object", "Tokens, `cost_usd` (a decimal string), model, turns."),
                k("cli_ok", "boolean", "The CLI reported success."),
                k("resumed", "string", "The session it resumed."),
                k("session_digest", "string", "A hash of the CLI's session files."),
                k("filing", "object", "What the driver filed for it."),
                k("stopped", "boolean", "The runner was stopping."),
                k("lost", "boolean", "The runner that started it died."),
                k("killed", "boolean", "A lost run's process was killed."),
                ERROR,
            ),
        ),
    ),
    EventType.AGENT_FAILED: EventDoc(
        "The agent could not be started or its run was stopped; the WP needs a person.",
        "the runner",
        (
            ERROR,
            *optional(
                k("reason", "string", "A stable code (`budget_exhausted`, `outbox_flood`, ...)."),
                k("launch", "integer", "The seq of the run's `agent_started`."),
                k("driver", "string", "The agent CLI driver."),
                k("sha256", "string", "`setup_unapproved`: the setup script's new hash."),
                k("script", "string", "`setup_*`: the setup script's path in the repo."),
                k("commit", "string", "`setup_unapproved`: the base commit it was read at."),
                k("setup", "object", "`setup_failed`: what ran (as on `agent_started`)."),
            ),
        ),
    ),
    EventType.SCOPE_CONFIRMED: EventDoc(
        "The assignee confirmed (or declined) the scope.",
        "a `scope_confirmation` entry",
        (*ENTRY, k("confirmed", "boolean", "`false`: declined."), *optional(TRANSITION)),
    ),
    EventType.REVIEW_RECORDED: EventDoc(
        "A review verdict.",
        "a `review` entry, `cockpit review`, or a lane's `standing_go`",
        (
            k("verdict", "string", "The verdict."),
            *optional(
                k("findings", "array of string", "What the reviewer found."),
                k("merge_sha", "string", "The merge commit named."),
                k("merge_proof", "object", "How the merge commit was shown to hold the work."),
                k("head", "string | null", "The commit the review (and its comments) is about."),
                k(
                    "comments",
                    "array of object",
                    "Comments on lines: `{path, line, side, text, context: [{line, text}]}`.",
                ),
                k("standing", "boolean", "A lane's standing go."),
                k("policy_version", "integer", "The policy a standing go was given under."),
                k("rollback_requested", "boolean", "`rejected`: a rollback is due."),
                TRANSITION,
                *ENTRY,
            ),
        ),
    ),
    EventType.COMMON_GROUND_UPDATED: EventDoc(
        "A new version of the common ground.", "a `common_ground` entry", ENTRY
    ),
    EventType.CLAIM_PACKET_CREATED: EventDoc(
        "A claim.", "a `claim` entry", (*ENTRY, *optional(TRANSITION))
    ),
    EventType.EVIDENCE_PACKET_CREATED: EventDoc("Evidence.", "an `evidence` entry", ENTRY),
    EventType.ADVISORY_ISSUED: EventDoc(
        "The advisory verifier's prediction for a new claim.",
        "ingest, with the claim",
        (
            k("id", "string", "The advisory's id (`ADV-<claim>`)."),
            k("claim", "string", "The claim."),
            k("prediction", "string", "`safe_to_proceed` or `risky`."),
            k("severity", "string", "`info`, `warning` or `serious`."),
            k("reasons", "array of string", "Why."),
            EDGES,
        ),
    ),
    EventType.ADVISORY_DISMISSED: EventDoc(
        "A person dismissed an advisory.",
        "`cockpit dismiss`",
        (
            k("advisory", "string", "Its id."),
            REASON,
            k("severity", "string | null", "Its severity."),
            EDGES,
        ),
    ),
    EventType.VERIFY_STARTED: EventDoc(
        "A gate run began.",
        "the runner, or `cockpit verify`",
        (
            k("claim", "string | null", "The claim verified."),
            k("mode", "string", "The runner mode."),
            TRANSITION,
        ),
    ),
    EventType.VERIFY_COMPLETED: EventDoc(
        "The gate's decision, with everything it saw.",
        "the runner, or `cockpit verify`",
        (
            *_GATE,
            k("claim", "object | null", "`{id, sha256}` of the claim."),
            k("advisory", "string | null", "The claim's advisory."),
            k("evidence", "array of object", "`{id, sha256}` of each evidence cited."),
            k("common_ground", "object | null", "`{id, sha256, version}` pinned."),
            k("mode", "string", "The runner mode."),
            k("verifier", "string", "Who verified."),
            k("duration_ms", "integer", "How long the gate took."),
            k("validation", "array of object", "Each validation command's result."),
            k("changed_files", "array of string | null", "The WP's change (target repo)."),
            k("worktree_tree", "string | null", "The git tree the gate saw."),
            k("branch_tip", "string | null", "The WP branch's commit then."),
            k("head", "string | null", "The verified head: the commit holding that content."),
            k("tree", "string | null", "Its tree (the content measured)."),
            k("verified_ref", "string | null", "`refs/cockpit/verified/<WP>/<seq>`, keeping it."),
            k("summary", "object", "Outcome, acceptance and blocking predicate again."),
            TRANSITION,
            EDGES,
        ),
    ),
    EventType.RECOVERY_PACKET_CREATED: EventDoc(
        "Someone took a blocked or failed WP back in hand.",
        "a `recovery` entry or `cockpit recover`",
        (
            k("recovery_owner", "string", "Who owns the recovery."),
            k("next_action", "string", "What happens next."),
            TRANSITION,
            EDGES,
            *optional(*ENTRY[:4], k("error_class", "string | null", "The failure's kind.")),
        ),
    ),
    EventType.ROLLBACK_COMPLETED: EventDoc(
        "A failed WP's worktree is back at its base commit.",
        "`cockpit rollback`",
        (*_ROLLBACK, TRANSITION),
    ),
    EventType.ROLLBACK_FAILED: EventDoc(
        "A rollback could not be validated; the WP stays failed.",
        "`cockpit rollback`",
        (*_ROLLBACK, ERROR),
    ),
    EventType.OVERRIDE_APPLIED: EventDoc(
        "The owner moved the WP by hand; it stays marked overridden.",
        "`cockpit override`",
        (REASON, TRANSITION),
    ),
    EventType.TASK_COMPLETED: EventDoc(
        "An accepted WP is complete.",
        "a review `accepted` (after its `review_recorded`)",
        (TRANSITION, k("review", "string", "The review entry.", opt=True)),
    ),
    EventType.TASK_CANCELLED: EventDoc(
        "The WP was cancelled.", "`cockpit cancel`", (REASON, TRANSITION)
    ),
    EventType.VETO_CHANGED: EventDoc(
        "A veto was raised or lifted.",
        "a `veto` entry or `cockpit veto`",
        (k("active", "boolean", "Whether a veto stands now."), REASON, *optional(*ENTRY)),
    ),
    EventType.CANDIDATE_CREATED: EventDoc(
        "An agent proposed a memory record for canon.",
        "a `candidate` entry",
        (
            *ENTRY,
            k("record_sha256", "string", "The record's hash (anti-replay against canon)."),
            k("tenant", "string", "The tenant it was filed under."),
            k("redaction", "object", "The secret scan: `{clean, kinds, detail, scanner}`."),
            k("redacted", "boolean", "The stored record was redacted.", opt=True),
        ),
    ),
    EventType.CANON_GATE_EVALUATED: EventDoc(
        "The Canon Gate's nine checks on a candidate.",
        "`cockpit commission`",
        (
            k("candidate", "string", "The candidate."),
            k("commissioned", "boolean", "Whether every check held."),
            k("checks", "map of object", "Each check's `{status, detail}`."),
            k("failed", "array of string", "The checks that failed."),
            k("evaluator", "object | null", "The evaluator's score and nearest records."),
            k("summary", "object", "`{commissioned, failed, by, score_permille}`."),
            EDGES,
        ),
    ),
    EventType.CANDIDATE_COMMISSIONED: EventDoc(
        "A candidate became canon.",
        "`cockpit commission`, after the Canon Gate",
        (
            k("candidate", "string", "The candidate."),
            k("canon_id", "string", "Its canon id."),
            k("record", "string", "The record."),
            k("record_sha256", "string", "Its hash."),
            k("author", "string", "Who wrote it."),
            k("provenance", "object", "Candidate, WP, claim, evidence and verify behind it."),
            EDGES,
        ),
    ),
    EventType.ENTRY_REJECTED: EventDoc(
        "An entry was refused and moved to `queue/rejected/`.",
        "the queue sweep",
        (
            k("code", "string", "The [rejection code](rejection-codes.md)."),
            k("message", "string", "Why, in one sentence."),
            k("file", "string", "Its name in `queue/rejected/`."),
            k("original_file", "string", "Its name when it arrived."),
            k("sha256", "string", "The hash of its bytes (empty: not read)."),
            *optional(
                k("claimed_principal", "string", "The principal it named."),
                k("entry_signature", "object", "Its valid signature (its id is used up)."),
                k("signed", "boolean", "It carried a valid signature."),
            ),
        ),
    ),
    EventType.CHECKPOINT_CREATED: EventDoc(
        "A checkpoint of the chain was written.",
        "`cockpit audit checkpoint`",
        (
            k("size", "integer", "Events covered."),
            k("head", "string | null", "The chain hash of the last."),
            k("merkle_root", "string", "The RFC 6962 Merkle root (hex)."),
            k("ts", "string", "When."),
            k("file", "string", "The checkpoint file in `.cockpit/checkpoints/`."),
            k("note", "string", "The signed note beside it.", opt=True),
        ),
    ),
    EventType.AGENT_KEY_ISSUED: EventDoc(
        "The runner made a key for one agent run.",
        "the runner",
        (
            k("principal", "string", "The agent."),
            k("work_package", "string", "The WP."),
            k("stage", "string", "The state the run is for."),
            k("run", "integer", "The run's number."),
            k("fingerprint", "string", "The key's `SHA256:` fingerprint."),
            k("public_key", "string", "The public key line."),
            k("kinds", "array of string", "The entry kinds it may sign."),
        ),
    ),
    EventType.AGENT_KEY_REVOKED: EventDoc(
        "A run's key stopped being valid (the run ended).",
        "the runner",
        (
            k("principal", "string | null", "The agent."),
            k("work_package", "string | null", "The WP."),
            k("run", "integer | null", "The run's number."),
            k("fingerprint", "string", "The key's fingerprint."),
            k("public_key", "string", "The public key line."),
            REASON,
        ),
    ),
    EventType.CONFIG_APPLIED: EventDoc(
        "The runner started on a cockpit.yaml it had not recorded: which keys speak for whom.",
        "the runner, when signatures are required",
        (
            k("sha256", "string", "The config's hash."),
            k("workspace", "string | null", "The workspace id."),
            k("tenant", "string", "The tenant."),
            k("signatures", "string", "`required` or `optional`."),
            k("principals_keys", "map of array of string", "Each principal's key lines."),
            k("runner_key", "string", "The runner's public key line."),
        ),
    ),
    EventType.MONITOR_FLAGGED: EventDoc(
        "The progress monitor flagged the WP for a person: it stalled, loops, its agent keeps "
        "failing, or a light WP touches many files. Not the WP's progress: its `last_seq` "
        "stays.",
        "the runner's progress monitor",
        (
            k("flag", "string", "Its id: the reason and the seq it rests on (`stall@41`)."),
            k("reason", "string", "`stall`, `looping`, `agent_failing` or `tier_mismatch`."),
            k("detail", "string", "What the monitor saw, in a sentence."),
            k("basis_seq", "integer", "The event the flag rests on."),
            *optional(
                k("quiet_s", "integer", "`stall`: seconds without an event of its own."),
                k("count", "integer", "What was counted: verdicts, runs or changed files."),
                k("limit", "integer", "`tier_mismatch`: the most files a light WP may touch."),
            ),
        ),
    ),
    EventType.MONITOR_DISMISSED: EventDoc(
        "A person dismissed a flag of the progress monitor.",
        "`cockpit dismiss`",
        (k("flag", "string", "The flag's id."), REASON, EDGES),
    ),
}

EVENTS.update(DELIVERY_EVENTS)


def payload_shape(event_type: str) -> Shape:
    """The documented shape of a payload of `event_type` (every payload may carry the
    signature of what caused it)."""
    entry = EVENTS[EventType(event_type)]
    return Shape("payload", "object", entry.records, (*entry.keys, SIGNATURE))
