"""Queue entries (SPEC 3): one pydantic model per kind, the parsed entry, and the
rejection every entry check raises."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from cockpit.domain import (
    DoneState,
    EvidenceClass,
    Kind,
    RejectionCode,
    Tier,
    Verdict,
)
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


class _Storable(BaseModel):
    """A model whose every int fits SQLite's INTEGER and every string is valid Unicode, in
    every field (present and future): what passes validation can be stored."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: object) -> object:
        problem = unstorable(data)
        if problem is not None:
            raise ValueError(problem)
        return data


class _Body(_Storable):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The Markdown body of a .md entry lands here, whatever the kind.
    description: str | None = None


class WorkPackageBody(_Body):
    title: str = Field(min_length=1)
    objective: str = Field(min_length=1)
    success_criteria: list[str] = Field(default_factory=list)
    owner: str = Field(min_length=1)
    accountable: str = Field(min_length=1)
    tier: Tier
    lane: str = Field(min_length=1)
    owned_surfaces: list[str] = Field(default_factory=list)
    forbidden_surfaces: list[str] = Field(default_factory=list)
    validation_commands: list[str] = Field(default_factory=list)
    evidence_floor: EvidenceClass | None = None
    target_repo: str | None = None
    base_ref: str | None = None
    labels: list[str] = Field(default_factory=list)
    rollback_plan: str | None = None


class CommonGroundBody(_Body):
    version: int = Field(ge=1)
    objective: str | None = None
    accepted_facts: list[str] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    success_criteria: list[str] = Field(default_factory=list)
    stage: str | None = None


class DispatchBody(_Body):
    to: str = Field(min_length=1)
    next_gate: str | None = None


class ScopeConfirmationBody(_Body):
    confirmed: bool
    notes: str | None = None


class ReviewBody(_Body):
    verdict: Verdict
    findings: list[str] = Field(default_factory=list)
    merge_sha: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{4,64}$")


class GroundPin(_Storable):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: int
    hash: str


class ClaimBody(_Body):
    done_state: DoneState
    common_ground: GroundPin | None = None
    evidence: list[str] = Field(default_factory=list)
    owner: str | None = None
    accountable: str | None = None
    unresolved_questions: list[str] = Field(default_factory=list)
    summary: str | None = None


class EvidenceItem(_Storable):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    class_: EvidenceClass = Field(alias="class")
    ref: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    command: str | None = None
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**32 - 1)  # 32-bit status
    log: str | None = None


class EvidenceBody(_Body):
    items: list[EvidenceItem] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    quality: str | None = None
    # Evidence a driver measured itself (SPEC 9.1, 10.2): signed with the runner key, so
    # it is never confused with what an agent says.
    measured_by: Literal["runner"] | None = None


class RecoveryBody(_Body):
    error_class: str | None = None
    failure_signal: str | None = None
    retry_count: int = Field(default=0, ge=0)
    fallback_used: bool | str | None = None
    next_action: str = Field(min_length=1)
    recovery_owner: str = Field(min_length=1)


class CandidateBody(_Body):
    record: str = Field(min_length=1)
    source: str | None = None
    policy_version: int
    evidence: list[str] = Field(default_factory=list)


class VetoBody(_Body):
    reason: str = Field(min_length=1)
    lift: bool = False


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
    schema_: Literal["cockpit.entry/v1"] = Field(alias="schema")
    kind: Kind
    id: str
    work_package: str
    principal: str = Field(min_length=1)
    tenant: str | None = None
    # The workspace id the entry is meant for (SPEC 10.1): a signed entry cannot be
    # replayed into another workspace.
    workspace: str | None = None
    created: AwareDatetime
    refs: list[str] = Field(default_factory=list)
    body: _Body

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
