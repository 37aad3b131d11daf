"""Queue entries (SPEC 3): one pydantic model per kind, the parsed entry, and the
rejection every entry check raises."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cockpit.domain import DoneState, EvidenceClass, Kind, RejectionCode, Tier, Verdict
from cockpit.errors import InputError

ENTRY_SCHEMA = "cockpit.entry/v1"
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
MAX_ENTRY_BYTES = 1024 * 1024
# SQLite's INTEGER is a signed 64-bit value: no int of an entry may leave that range.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class EntryRejected(InputError):
    """An entry failed a check; `code` is a stable SPEC 3.1 rejection code."""

    def __init__(self, code: RejectionCode, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.entry_id = entry_id
        # The entry's valid signature, when it had one: recorded with the rejection, since
        # a signed entry uses its id up whatever happens to it (SPEC 10.1).
        self.signature: dict[str, Any] | None = None

    def as_reason(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "entry_id": self.entry_id}


def unstorable(value: object, where: str = "") -> str | None:
    """Where `value` holds what the store cannot keep: an int outside SQLite's signed 64-bit
    range, or a string (value or key) with a lone surrogate, which is not text UTF-8 can
    carry. None if every part of it can be stored."""
    if _storable(value):
        return None
    return _where_unstorable(value, where)


def _storable(value: object) -> bool:
    """True if every part of `value` is plain data the store can keep (the quick walk, no
    paths built); False if one is not, or is of a type left to `_where_unstorable`."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif not (item is None or kind is bool or isinstance(item, BaseModel)):
            return False
    return True


def _where_unstorable(value: object, where: str = "") -> str | None:
    if isinstance(value, BaseModel):
        return None  # validated on its own
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            return f"{where or 'value'}: integer out of range (a signed 64-bit integer)"
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where or 'value'}: text with a lone surrogate (not valid Unicode)"
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _where_unstorable(key, f"a key in {where}" if where else "a key")
            if problem is None:
                problem = _where_unstorable(item, f"{where}.{key}" if where else str(key))
            if problem is not None:
                return problem
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = _where_unstorable(item, f"{where}[{index}]")
            if problem is not None:
                return problem
    return None


# Validation context for data known to be storable already (an entry document read line by
# line: safe_yaml.read_yaml), which is then not walked again.
STORABLE = {"storable": True}


class _Storable(BaseModel):
    """A model whose every int fits SQLite's INTEGER and every string is valid Unicode, in
    every field (present and future): what passes validation can be stored."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: object, info: ValidationInfo) -> object:
        if info.context is STORABLE:
            return data
        problem = unstorable(data)
        if problem is not None:
            raise ValueError(problem)
        return data


class _Body(_Storable):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The Markdown body of a .md entry lands here, whatever the kind.
    description: str | None = Field(
        default=None,
        description="Free text; in a `.md` entry, the Markdown after the front matter.",
    )


# A procedure's archetype: the stem of its pack file, `procedures/<archetype>.yaml`.
ARCHETYPE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# The kinds an agent files (SPEC 10.2's agent key kinds): what `required_packets` may name.
AGENT_KINDS = tuple(
    k for k in Kind if k.value not in {"work_package", "dispatch", "review", "veto"}
)


def agent_kinds(kinds: list[Kind]) -> list[Kind]:
    """`kinds` if each is a kind an agent files, once; ValueError naming the first that is not."""
    for kind in kinds:
        if kind not in AGENT_KINDS:
            allowed = ", ".join(k.value for k in AGENT_KINDS)
            raise ValueError(f"{kind.value} is not a packet an agent files; use {allowed}")
    if len(set(kinds)) != len(kinds):
        raise ValueError("names a kind twice")
    return kinds


class ProcedureStep(_Storable):
    """One step of a procedure's lane sequence: the lane that carries it and what that
    lane's agent is told to do in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lane: str = Field(min_length=1, description="The lane whose agent carries the step.")
    step: str = Field(pattern=ARCHETYPE_PATTERN, description="The step's name, e.g. `reproduce`.")
    context: str = Field(min_length=1, description="What the lane's agent is told to do in it.")


class RollbackProfile(_Storable):
    """How work of a procedure is undone, and what would call for undoing it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    plan: str = Field(min_length=1, description="How the change is undone (its rollback_plan).")
    triggers: list[str] = Field(
        default_factory=list, description="What would call for rolling the change back."
    )


class ProcedureRecord(_Storable):
    """The procedure pack a WP was booked from (`cockpit book --procedure`), as it was
    then: the lane-shaped context its agents are told, kept in the record so the handoff
    is derived from the store alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    archetype: str = Field(pattern=ARCHETYPE_PATTERN, description="The pack's archetype.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The pack file's sha256.")
    description: str | None = Field(default=None, description="What the procedure is for.")
    required_packets: list[Kind] = Field(
        default_factory=list, description="The entry kinds the work needs from its agent."
    )
    sequence: list[ProcedureStep] = Field(
        min_length=1, description="The steps, in order, each with its lane and context."
    )
    rollback: RollbackProfile | None = Field(default=None, description="The rollback profile.")

    _agent_kinds = field_validator("required_packets")(agent_kinds)


class WorkPackageBody(_Body):
    """Books a unit of work: its goal, who answers for it, its proof, scope and checks."""

    title: str = Field(min_length=1, description="A short name, shown on the board.")
    objective: str = Field(min_length=1, description="What the work must achieve.")
    success_criteria: list[str] = Field(
        default_factory=list, description="Checkable statements that hold when it is done."
    )
    owner: str = Field(min_length=1, description="The principal who does the work.")
    accountable: str = Field(min_length=1, description="The principal who answers for it.")
    tier: Tier = Field(description="How much proof the gate asks for (see `tiers`).")
    lane: str = Field(min_length=1, description="The lane whose agent carries the work.")
    owned_surfaces: list[str] = Field(
        default_factory=list, description="Globs of the paths the agent may change."
    )
    forbidden_surfaces: list[str] = Field(
        default_factory=list, description="Globs of the paths the agent must not change."
    )
    validation_commands: list[str] = Field(
        default_factory=list, description="Shell command lines that must each exit 0."
    )
    evidence_floor: EvidenceClass | None = Field(
        default=None, description="The weakest evidence allowed; overrides the tier's."
    )
    target_repo: str | None = Field(
        default=None, description="The git repository the work changes (a path)."
    )
    base_ref: str | None = Field(
        default=None, description="The commit, branch or tag its worktree starts from."
    )
    labels: list[str] = Field(default_factory=list, description="Free labels (e.g. canary).")
    rollback_plan: str | None = Field(
        default=None, description="How the change would be undone (deep tier: required)."
    )
    # Not in SPEC 3's list: written by `cockpit book --procedure` (docs/procedures.md).
    procedure: ProcedureRecord | None = Field(
        default=None,
        description="The procedure pack it was booked from, with its lane-shaped context.",
    )

    @model_validator(mode="after")
    def _procedure_serves_the_lane(self) -> WorkPackageBody:
        if self.procedure and all(s.lane != self.lane for s in self.procedure.sequence):
            lanes = ", ".join(dict.fromkeys(s.lane for s in self.procedure.sequence))
            raise ValueError(
                f"the procedure {self.procedure.archetype} has no step for lane {self.lane} "
                f"(its lanes: {lanes})"
            )
        return self


class CommonGroundBody(_Body):
    """What agent and owner agree the work is, one version at a time."""

    version: int = Field(ge=1, description="1, then one more for each later version.")
    objective: str | None = Field(default=None, description="The objective as understood.")
    accepted_facts: list[str] = Field(default_factory=list, description="Facts both accept.")
    open_questions: list[str] = Field(default_factory=list, description="Questions still open.")
    assumptions: list[str] = Field(default_factory=list, description="What is assumed.")
    success_criteria: list[str] = Field(default_factory=list, description="As agreed.")
    stage: str | None = Field(default=None, description="The stage this version belongs to.")


class DispatchBody(_Body):
    """Hands a booked (or rolled-back) WP to an agent."""

    to: str = Field(min_length=1, description="The principal the WP goes to.")
    next_gate: str | None = Field(default=None, description="What the agent should reach next.")


class ScopeConfirmationBody(_Body):
    """The assignee confirms, or declines, the WP's scope."""

    confirmed: bool = Field(description="`false` declines; the WP is flagged for triage.")
    notes: str | None = Field(default=None, description="What the owner should know.")


class ReviewComment(_Storable):
    """A comment on one line of the change (SPEC 11.2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(min_length=1, max_length=4096, description="A file of the change.")
    line: int = Field(ge=1, le=2**31, description="A line shown on that side of its diff.")
    side: Literal["new", "old"] = Field(default="new", description="`new` (default) or `old`.")
    text: str = Field(min_length=1, description="The comment.")


class ReviewBody(_Body):
    """A person's verdict on the WP."""

    verdict: Verdict = Field(description="The verdict; each moves the WP its own way.")
    findings: list[str] = Field(default_factory=list, description="What the reviewer found.")
    merge_sha: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{4,64}$",
        description="With `accepted`: the commit the admitted work was merged as.",
    )
    head: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{4,64}$",
        description="The verified head reviewed, in full; `accepted` needs the latest.",
    )
    comments: list[ReviewComment] = Field(
        default_factory=list, description="Comments on lines of the change, at `head`."
    )


class GroundPin(_Storable):
    """A claim's pin of the common-ground version it rests on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(description="The common_ground entry's id.")
    version: int = Field(description="Its `version`.")
    hash: str = Field(description="The sha256 of its file, lowercase hex.")


class ClaimBody(_Body):
    """The assignee says the work is done, citing evidence; the verify gate decides."""

    done_state: DoneState = Field(description="Only `done` can be admitted.")
    common_ground: GroundPin | None = Field(default=None, description="The ground it rests on.")
    evidence: list[str] = Field(default_factory=list, description="Ids of the evidence cited.")
    owner: str | None = Field(default=None, description="Must equal the WP's `owner`.")
    accountable: str | None = Field(default=None, description="Must equal the WP's.")
    unresolved_questions: list[str] = Field(
        default_factory=list, description="Questions not settled; any one blocks admission."
    )
    summary: str | None = Field(default=None, description="What was done.")


class EvidenceItem(_Storable):
    """One piece of evidence: how strong a proof it is and what it points at."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    class_: EvidenceClass = Field(alias="class", description="The kind of proof.")
    ref: str = Field(min_length=1, description="What it points at, relative to the worktree.")
    sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="The sha256 of what `ref` names."
    )
    command: str | None = Field(default=None, description="The command that gave the proof.")
    exit_code: int | None = Field(
        default=None, ge=-(2**31), le=2**32 - 1, description="That command's exit status."
    )  # 32-bit status
    log: str | None = Field(default=None, description="The command's output, or its tail.")


class EvidenceBody(_Body):
    """The proof a claim cites."""

    items: list[EvidenceItem] = Field(default_factory=list, description="The pieces of proof.")
    missing: list[str] = Field(default_factory=list, description="Proof known to be missing.")
    quality: str | None = Field(default=None, description="The author's word on its quality.")
    # Evidence a driver measured itself (SPEC 9.1, 10.2): signed with the runner key, so
    # it is never confused with what an agent says.
    measured_by: Literal["runner"] | None = Field(
        default=None, description="`runner` on evidence the runner measured itself."
    )


class RecoveryBody(_Body):
    """Takes a blocked or failed WP back in hand: who owns the recovery, what comes next."""

    error_class: str | None = Field(default=None, description="What kind of failure it was.")
    failure_signal: str | None = Field(default=None, description="What showed the failure.")
    retry_count: int = Field(default=0, ge=0, description="How many retries were made.")
    fallback_used: bool | str | None = Field(default=None, description="Which fallback, if any.")
    next_action: str = Field(min_length=1, description="What happens next.")
    recovery_owner: str = Field(min_length=1, description="Who owns the recovery.")


class CandidateBody(_Body):
    """A memory record proposed for canon; only a person's commission makes it canon."""

    record: str = Field(min_length=1, description="The text proposed for canon.")
    source: str | None = Field(default=None, description="Where the record comes from.")
    policy_version: int = Field(description="The `policy.version` it was written under.")
    evidence: list[str] = Field(default_factory=list, description="Ids of its evidence.")


class VetoBody(_Body):
    """While a veto stands, the gate admits nothing for the WP."""

    reason: str = Field(min_length=1, description="Why it is raised (or lifted).")
    lift: bool = Field(default=False, description="`true` lifts the standing veto.")


BODY_MODELS: dict[Kind, type[_Body]] = {
    Kind.WORK_PACKAGE: WorkPackageBody,
    Kind.COMMON_GROUND: CommonGroundBody,
    Kind.DISPATCH: DispatchBody,
    Kind.SCOPE_CONFIRMATION: ScopeConfirmationBody,
    Kind.REVIEW: ReviewBody,
    Kind.CLAIM: ClaimBody,
    Kind.EVIDENCE: EvidenceBody,
    Kind.RECOVERY: RecoveryBody,
    Kind.CANDIDATE: CandidateBody,
    Kind.VETO: VetoBody,
}


class Entry(_Storable):
    """One validated queue entry. `body` is the kind's body model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["cockpit.entry/v1"] = Field(alias="schema", description="The format.")
    kind: Kind = Field(description="What the entry is; it decides the body's fields.")
    id: str = Field(description="The entry's id, unique forever in the workspace.")
    work_package: str = Field(description="The WP it is about (a work_package: its own id).")
    principal: str = Field(min_length=1, description="Who writes it.")
    tenant: str | None = Field(default=None, description="If given, the workspace's tenant.")
    # The workspace id the entry is meant for (SPEC 10.1): a signed entry cannot be
    # replayed into another workspace.
    workspace: str | None = Field(default=None, description="The workspace id it is meant for.")
    created: AwareDatetime = Field(description="When it was written (RFC 3339, with a zone).")
    refs: list[str] = Field(default_factory=list, description="Ids of the entries it builds on.")
    body: _Body = Field(description="The kind's fields.")

    @field_validator("created", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        """`created` must be an RFC 3339 timestamp with a zone, within the calendar."""
        if isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            raise ValueError("must be an RFC 3339 timestamp with a zone, e.g. 2026-11-21T10:00:00Z")
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
            moment.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"is not a valid moment ({exc})") from None
        return moment

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON data (the form stored in events)."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"body"})
        if data.get("workspace") is None:
            del data["workspace"]  # named only by entries that carry it (signed ones)
        data["body"] = self.body.model_dump(mode="json", by_alias=True)
        if "procedure" in data["body"] and data["body"]["procedure"] is None:
            del data["body"]["procedure"]  # a WP booked without a pack stays as SPEC 3 has it
        return data


@dataclass(frozen=True)
class ParsedEntry:
    """An entry file that passed the stateless checks: the model plus its identity."""

    entry: Entry
    sha256: str
    raw: str
    file: str
    # The file's exact bytes: what a signature signs (SPEC 10.1).
    data: bytes = field(default=b"", repr=False, compare=False)
