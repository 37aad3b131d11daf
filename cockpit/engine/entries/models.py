"""Queue entries (SPEC 3): one pydantic model per kind, and the parser for entry files.

The parser is the first line of defence against untrusted files: it enforces the stateless
rejection codes (`too_large` through `schema_error`, and `path_escape`) and never executes or
interprets anything beyond plain YAML data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from cockpit.domain import (
    REF_PATTERN,
    DoneState,
    EvidenceClass,
    Kind,
    RejectionCode,
    Tier,
    Verdict,
    is_valid_id,
)
from cockpit.engine.entries.safe_yaml import UnsafeYaml, YamlSyntaxError, load_yaml

ENTRY_SCHEMA = "cockpit.entry/v1"
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
MAX_ENTRY_BYTES = 1024 * 1024


class EntryRejected(Exception):
    """An entry failed a check; `code` is a stable SPEC 3.1 rejection code."""

    def __init__(self, code: RejectionCode, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.entry_id = entry_id

    def as_reason(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "entry_id": self.entry_id}


class _Body(BaseModel):
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


class GroundPin(BaseModel):
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


class EvidenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    class_: EvidenceClass = Field(alias="class")
    ref: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    command: str | None = None
    exit_code: int | None = None
    log: str | None = None


class EvidenceBody(_Body):
    items: list[EvidenceItem] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    quality: str | None = None


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


class Entry(BaseModel):
    """One validated queue entry. `body` is the kind's body model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["cockpit.entry/v1"] = Field(alias="schema")
    kind: Kind
    id: str
    work_package: str
    principal: str = Field(min_length=1)
    tenant: str | None = None
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
        data["body"] = self.body.model_dump(mode="json", by_alias=True)
        return data


@dataclass(frozen=True)
class ParsedEntry:
    """An entry file that passed the stateless checks: the model plus its identity."""

    entry: Entry
    sha256: str
    raw: str
    file: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M
)


def _load_document(text: str, filename: str) -> tuple[Any, str | None]:
    """Return (front matter or YAML document, Markdown body or None)."""
    markdown: str | None = None
    if filename.lower().endswith(".md"):
        match = _FRONT_MATTER.match(text)
        if match is None:
            raise EntryRejected(
                RejectionCode.PARSE_ERROR,
                "a Markdown entry must open with YAML front matter between '---' lines",
            )
        markdown = text[match.end() :].strip()
        text = match.group("yaml")
    try:
        return load_yaml(text), markdown
    except YamlSyntaxError as exc:
        raise EntryRejected(RejectionCode.PARSE_ERROR, f"not valid YAML: {exc}") from None
    except UnsafeYaml as exc:
        raise EntryRejected(RejectionCode.UNSAFE_YAML, str(exc)) from None


def _schema_message(exc: ValidationError, prefix: str) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    if first["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    if first["type"] == "missing":
        return f"{loc}: required field is missing"
    return f"{loc}: {str(first['msg']).removeprefix('Value error, ')}"


def parse_entry(data: bytes, filename: str) -> ParsedEntry:
    """Parse and validate one entry file's bytes.

    Returns a ParsedEntry; raises EntryRejected with `too_large`, `parse_error`,
    `unsafe_yaml`, `unknown_kind`, `bad_id` or `schema_error` (checked in that order).
    """
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryRejected(
            RejectionCode.TOO_LARGE, f"entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EntryRejected(RejectionCode.PARSE_ERROR, f"not UTF-8 text ({exc.reason})") from None
    doc, markdown = _load_document(text, filename)
    if not isinstance(doc, dict):
        raise EntryRejected(RejectionCode.PARSE_ERROR, "an entry must be a YAML mapping of fields")
    raw_id = doc.get("id")
    entry_id = raw_id if is_valid_id(raw_id) else None

    kind_value = doc.get("kind")
    if kind_value is None:
        raise EntryRejected(RejectionCode.UNKNOWN_KIND, "the entry has no kind", entry_id)
    if not isinstance(kind_value, str) or kind_value not in Kind.__members__.values():
        kinds = ", ".join(k.value for k in Kind)
        raise EntryRejected(
            RejectionCode.UNKNOWN_KIND, f"kind {kind_value!r} is not one of: {kinds}", entry_id
        )
    kind = Kind(kind_value)

    for field in ("id", "work_package"):
        if field not in doc:
            raise EntryRejected(RejectionCode.BAD_ID, f"{field} is missing", entry_id)
        if not is_valid_id(doc[field]):
            raise EntryRejected(
                RejectionCode.BAD_ID,
                f"{field} {doc[field]!r} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}",
                entry_id,
            )
    if kind is Kind.WORK_PACKAGE and doc["id"] != doc["work_package"]:
        raise EntryRejected(
            RejectionCode.SCHEMA_ERROR,
            "a work_package entry's work_package must equal its own id",
            entry_id,
        )

    body_data = doc.get("body", {})
    if body_data is None:
        body_data = {}
    if not isinstance(body_data, dict):
        raise EntryRejected(RejectionCode.SCHEMA_ERROR, "body must be a mapping", entry_id)
    if markdown:
        if "description" in body_data:
            raise EntryRejected(
                RejectionCode.SCHEMA_ERROR,
                "body.description is given both in front matter and as the Markdown body",
                entry_id,
            )
        body_data = {**body_data, "description": markdown}
    try:
        body = BODY_MODELS[kind].model_validate(body_data)
    except ValidationError as exc:
        raise EntryRejected(
            RejectionCode.SCHEMA_ERROR, _schema_message(exc, "body"), entry_id
        ) from None
    try:
        entry = Entry.model_validate({**doc, "body": body})
    except ValidationError as exc:
        raise EntryRejected(
            RejectionCode.SCHEMA_ERROR, _schema_message(exc, ""), entry_id
        ) from None
    return ParsedEntry(entry=entry, sha256=sha256_hex(data), raw=text, file=filename)


def path_escapes(path: str) -> bool:
    """True if `path` (a glob or relative path) could point outside its worktree."""
    if "\x00" in path:
        return True
    normalized = path.replace("\\", "/")
    if normalized.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", normalized):
        return True
    return ".." in PurePosixPath(normalized).parts


def check_paths(entry: Entry) -> None:
    """Raise EntryRejected(path_escape) if a surface glob or evidence ref escapes."""
    body = entry.body
    paths: list[tuple[str, str]] = []
    if isinstance(body, WorkPackageBody):
        paths += [("owned_surfaces", p) for p in body.owned_surfaces]
        paths += [("forbidden_surfaces", p) for p in body.forbidden_surfaces]
    elif isinstance(body, EvidenceBody):
        paths += [(f"items[{i}].ref", item.ref) for i, item in enumerate(body.items)]
    for field, path in paths:
        if path_escapes(path):
            raise EntryRejected(
                RejectionCode.PATH_ESCAPE,
                f"body.{field} {path!r} escapes the worktree (absolute or '..')",
                entry.id,
            )


@dataclass(frozen=True)
class Ref:
    id: str
    sha256: str | None


def parse_ref(value: str, entry_id: str) -> Ref:
    """Parse `ID` or `ID@sha256:<hex>`; raises EntryRejected(bad_ref) if malformed."""
    match = REF_PATTERN.fullmatch(value)
    if match is None:
        raise EntryRejected(
            RejectionCode.BAD_REF, f"ref {value!r} is not ID or ID@sha256:<64 hex>", entry_id
        )
    return Ref(id=match["id"], sha256=match["sha"])


def entry_refs(entry: Entry) -> list[tuple[str, str]]:
    """Every (relation, raw ref) this entry names: its refs and a claim's evidence."""
    refs = [("ref", r) for r in entry.refs]
    if isinstance(entry.body, ClaimBody):
        refs += [("evidence", r) for r in entry.body.evidence]
    return refs
