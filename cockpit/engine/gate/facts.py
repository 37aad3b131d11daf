"""What the verify gate reads (SPEC 5): the packets, the WP's history, the validation
results and the changed files, gathered into one `GateInput`; and the result each
predicate returns. Plain values only: `verification` gathers them, `predicates` judges."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cockpit.domain import Tier
from cockpit.engine.config.model import Config
from cockpit.store.rows import WorkPackageRow


class Status(StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


class Outcome(StrEnum):
    SUCCESS = "success"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    status: Status
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"status": self.status.value, "detail": self.detail}


def ok(detail: str) -> Result:
    return Result(Status.SATISFIED, detail)


def no(detail: str) -> Result:
    return Result(Status.UNSATISFIED, detail)


def na(detail: str) -> Result:
    return Result(Status.NOT_APPLICABLE, detail)


def err(detail: str) -> Result:
    return Result(Status.ERROR, detail)


@dataclass(frozen=True)
class CommandResult:
    """One validation command as the verifier ran it."""

    command: str
    exit_code: int | None
    duration_ms: int
    timed_out: bool = False
    error: str | None = None
    output_tail: str = ""
    output_sha256: str | None = None  # of everything it printed (the tail is what is kept)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
            "timed_out": self.timed_out,
            "error": self.error,
            "output_tail": self.output_tail,
        }


@dataclass(frozen=True)
class Packet:
    """An ingested entry as the gate sees it."""

    id: str
    kind: str
    work_package: str
    principal: str
    sha256: str
    seq: int
    body: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Packet:
        """A packet from a row of the `entries` projection."""
        return cls(
            id=row["id"],
            kind=row["kind"],
            work_package=row["work_package"],
            principal=row["principal"],
            sha256=row["sha256"],
            seq=row["seq"],
            body=row["body"],
        )


@dataclass(frozen=True)
class HistoryItem:
    """One event of the WP's history that a predicate looks at."""

    seq: int
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class GateInput:
    """Every fact the gate decides on. Built by `verification.gather`."""

    wp: WorkPackageRow
    config: Config
    claim: Packet | None
    packets: dict[str, Packet]
    history: list[HistoryItem]
    validation: list[CommandResult] | None = None
    validation_error: str | None = None
    changed_files: list[str] | None = None
    changed_error: str | None = None
    evidence_files: dict[str, str | None] = field(default_factory=dict)
    worktree_tree: str | None = None
    branch_tip: str | None = None  # the commit of wp/<WP> the gate saw (recorded, not judged)
    # The commit holding the content measured (SPEC 11.1's verified head; not judged).
    verified_head: str | None = None
    # Replacement refs made in the shared target repo since the worktree was (an agent
    # reaching outside its worktree: the owner's git would show other content).
    planted_refs: list[str] = field(default_factory=list)
    # Files of the target repo's shared git directory (config, hooks, info/ ...) changed
    # since the worktree was made: the owner's own git would run or honour them.
    git_dir_changes: list[str] = field(default_factory=list)
    # The changed files matched against the surfaces within the gate's time budget:
    # (touching a forbidden surface, outside every owned surface), or why not.
    surface_matches: tuple[list[str], list[str]] | None = None
    surface_error: str | None = None

    @property
    def tier(self) -> Tier:
        return Tier(self.wp["tier"])

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.wp.get("body") or {}
        return body

    def ground_packets(self) -> list[Packet]:
        return sorted(
            (
                p
                for p in self.packets.values()
                if p.kind == "common_ground" and p.work_package == self.wp["id"]
            ),
            key=lambda p: int(p.body.get("version", 0)),
        )
