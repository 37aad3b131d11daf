"""The domain's fixed vocabulary: states, entry kinds, capabilities, evidence classes, predicates.

Every name here is part of the product contract (SPEC 3-5) and appears in files, events and
JSON output, so the enum values are the wire names.
"""

from __future__ import annotations

import re
from enum import StrEnum


class State(StrEnum):
    BOOKED = "booked"
    DISPATCHED = "dispatched"
    SCOPE_CONFIRMED = "scope_confirmed"
    IN_PROGRESS = "in_progress"
    CLAIMED = "claimed"
    VERIFYING = "verifying"
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    RECOVERING = "recovering"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({State.COMPLETE, State.CANCELLED})
# States in which the assignee's agent has work to do (a lane command is started).
AGENT_STAGES = frozenset({State.DISPATCHED, State.IN_PROGRESS, State.RECOVERING})
# States in which a WP's work is live: an agent or the gate may still act on it.
LIVE_STATES = AGENT_STAGES | {
    State.SCOPE_CONFIRMED,
    State.CLAIMED,
    State.VERIFYING,
    State.BLOCKED,
    State.FAILED,
}
# States in which a WP's worktree is (re)made; after that it is the owner's to remove.
WORKTREE_STATES = frozenset(
    {State.DISPATCHED, State.SCOPE_CONFIRMED, State.IN_PROGRESS, State.RECOVERING, State.CLAIMED}
)
# States that by themselves need a person: a failure to recover or roll back, a claim
# waiting for the gate.
ATTENTION_STATES = frozenset({State.FAILED, State.CLAIMED})


class EventType(StrEnum):
    """The audit log's event types (SPEC 7): the paper's names where it has them."""

    TASK_CREATED = "task_created"
    DISPATCHED = "dispatched"
    WORKTREE_PROVISIONED = "worktree_provisioned"
    WORKTREE_FAILED = "worktree_failed"
    AGENT_STARTED = "agent_started"
    AGENT_EXITED = "agent_exited"
    AGENT_FAILED = "agent_failed"
    SCOPE_CONFIRMED = "scope_confirmed"
    REVIEW_RECORDED = "review_recorded"
    COMMON_GROUND_UPDATED = "common_ground_updated"
    CLAIM_PACKET_CREATED = "claim_packet_created"
    EVIDENCE_PACKET_CREATED = "evidence_packet_created"
    ADVISORY_ISSUED = "advisory_issued"
    ADVISORY_DISMISSED = "advisory_dismissed"
    VERIFY_STARTED = "verify_started"
    VERIFY_COMPLETED = "verify_completed"
    RECOVERY_PACKET_CREATED = "recovery_packet_created"
    ROLLBACK_COMPLETED = "rollback_completed"
    ROLLBACK_FAILED = "rollback_failed"
    OVERRIDE_APPLIED = "override_applied"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    VETO_CHANGED = "veto_changed"
    CANDIDATE_CREATED = "candidate_created"
    CANON_GATE_EVALUATED = "canon_gate_evaluated"
    CANDIDATE_COMMISSIONED = "candidate_commissioned"
    ENTRY_REJECTED = "entry_rejected"
    CHECKPOINT_CREATED = "checkpoint_created"
    AGENT_KEY_ISSUED = "agent_key_issued"
    AGENT_KEY_REVOKED = "agent_key_revoked"
    CONFIG_APPLIED = "config_applied"
    MONITOR_FLAGGED = "monitor_flagged"
    MONITOR_DISMISSED = "monitor_dismissed"
    DELIVERED = "delivered"
    DELIVERY_REFUSED = "delivery_refused"
    WORKTREE_PRUNED = "worktree_pruned"
    SETUP_APPROVED = "setup_approved"
    PORTS_RESERVED = "ports_reserved"  # a live WP's TCP port range (SPEC 11.4)


class Kind(StrEnum):
    WORK_PACKAGE = "work_package"
    COMMON_GROUND = "common_ground"
    DISPATCH = "dispatch"
    SCOPE_CONFIRMATION = "scope_confirmation"
    REVIEW = "review"
    CLAIM = "claim"
    EVIDENCE = "evidence"
    RECOVERY = "recovery"
    CANDIDATE = "candidate"
    VETO = "veto"

    @property
    def article(self) -> str:
        """ "a" or "an", as the kind's name is said after it."""
        return "an" if self.value[0] in "aeiou" else "a"


class Capability(StrEnum):
    BOOK = "book"
    DISPATCH = "dispatch"
    REVIEW = "review"
    VERIFY = "verify"
    OVERRIDE = "override"
    RECOVER = "recover"
    ROLLBACK = "rollback"
    CANCEL = "cancel"
    COMMISSION = "commission"
    VETO = "veto"
    DISMISS_ADVISORY = "dismiss_advisory"
    CONFIRM_SCOPE = "confirm_scope"
    CLAIM = "claim"
    EVIDENCE = "evidence"
    CANDIDATE = "candidate"
    DELIVER = "deliver"  # deliver, approve a worktree setup script, prune worktrees (SPEC 11)


# Kinds whose author must be the principal the WP is dispatched to (`not_assignee`).
ASSIGNEE_KINDS = frozenset({Kind.CLAIM, Kind.SCOPE_CONFIRMATION})
# The handoff the runner writes for an agent (runner.handoff; `cockpit new` reads it).
HANDOFF_SCHEMA = "cockpit.handoff/v1"

# The capability an entry's principal must hold, per kind (SPEC 3). A tuple means "any of".
KIND_CAPABILITIES: dict[Kind, tuple[Capability, ...]] = {
    Kind.WORK_PACKAGE: (Capability.BOOK,),
    Kind.COMMON_GROUND: (Capability.BOOK, Capability.CLAIM),
    Kind.DISPATCH: (Capability.DISPATCH,),
    Kind.SCOPE_CONFIRMATION: (Capability.CONFIRM_SCOPE,),
    Kind.REVIEW: (Capability.REVIEW,),
    Kind.CLAIM: (Capability.CLAIM,),
    Kind.EVIDENCE: (Capability.EVIDENCE,),
    Kind.RECOVERY: (Capability.RECOVER,),
    Kind.CANDIDATE: (Capability.CANDIDATE,),
    Kind.VETO: (Capability.VETO,),
}


class CandidateState(StrEnum):
    """Where a candidate stands on its way to canon (SPEC 6)."""

    CANDIDATE = "candidate"
    COMMISSIONED = "commissioned"


class Tier(StrEnum):
    LIGHT = "light"
    STANDARD = "standard"
    DEEP = "deep"


class EvidenceClass(StrEnum):
    """The evidence ladder, weakest first; `rank` orders them."""

    SOURCE_TRACE = "source_trace"
    STATIC_PROOF = "static_proof"
    LOCAL_COMMAND_PROOF = "local_command_proof"
    RUNTIME_PROOF = "runtime_proof"
    STRESS_ABUSE_PROOF = "stress_abuse_proof"
    MERGE_PROOF = "merge_proof"

    @property
    def rank(self) -> int:
        return list(EvidenceClass).index(self)


class Verdict(StrEnum):
    GO = "go"
    REVISION_REQUIRED = "revision_required"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DIAGNOSTIC = "diagnostic"


class DoneState(StrEnum):
    DONE = "done"
    PARTIAL = "partial"
    NOT_FIXED = "not_fixed"


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    SHADOW = "shadow"
    CANARY = "canary"
    LIVE = "live"


class Predicate(StrEnum):
    """The verify gate's predicates, in the order the gate checks them (the order that
    names the blocking predicate)."""

    CLAIM_DONE = "claim_done"
    COMMON_GROUND_ALIGNED = "common_ground_aligned"
    GROUND_FRESH = "ground_fresh"
    VERIFY_MODE = "verify_mode"
    EVIDENCE_FLOOR = "evidence_floor"
    OWNERSHIP_CLEAR = "ownership_clear"
    NO_OPEN_BLOCKERS = "no_open_blockers"
    ESCALATION_PATH = "escalation_path"
    ADVISORIES_TREATED = "advisories_treated"
    NO_ACTIVE_RECOVERY = "no_active_recovery"
    NO_VETO = "no_veto"
    SCOPE_RESPECTED = "scope_respected"
    VALIDATION_PASSED = "validation_passed"


class RejectionCode(StrEnum):
    """Stable rejection codes, in the order they are checked (SPEC 3.1)."""

    SYMLINK = "symlink"
    TOO_LARGE = "too_large"
    PARSE_ERROR = "parse_error"
    UNSAFE_YAML = "unsafe_yaml"
    UNKNOWN_KIND = "unknown_kind"
    BAD_ID = "bad_id"
    SCHEMA_ERROR = "schema_error"
    REPLAY_CONFLICT = "replay_conflict"
    TENANT_MISMATCH = "tenant_mismatch"
    UNKNOWN_PRINCIPAL = "unknown_principal"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    STALE_ENTRY = "stale_entry"
    CAPABILITY_DENIED = "capability_denied"
    UNKNOWN_WORK_PACKAGE = "unknown_work_package"
    PATH_ESCAPE = "path_escape"
    BAD_REF = "bad_ref"
    NOT_ASSIGNEE = "not_assignee"
    ILLEGAL_TRANSITION = "illegal_transition"


ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
REF_PATTERN = re.compile(
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:@sha256:(?P<sha>[0-9a-f]{64}))?"
)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


# The event type an entry of each kind is recorded as (SPEC 7 names): what ingest writes
# and what replay holds an entry's event to.
ENTRY_EVENT_TYPES: dict[Kind, EventType] = {
    Kind.WORK_PACKAGE: EventType.TASK_CREATED,
    Kind.COMMON_GROUND: EventType.COMMON_GROUND_UPDATED,
    Kind.DISPATCH: EventType.DISPATCHED,
    Kind.SCOPE_CONFIRMATION: EventType.SCOPE_CONFIRMED,
    Kind.REVIEW: EventType.REVIEW_RECORDED,
    Kind.CLAIM: EventType.CLAIM_PACKET_CREATED,
    Kind.EVIDENCE: EventType.EVIDENCE_PACKET_CREATED,
    Kind.RECOVERY: EventType.RECOVERY_PACKET_CREATED,
    Kind.CANDIDATE: EventType.CANDIDATE_CREATED,
    Kind.VETO: EventType.VETO_CHANGED,
}
