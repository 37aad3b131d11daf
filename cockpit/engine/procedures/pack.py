"""Procedure packs: `procedures/<archetype>.yaml` in the workspace, format
`cockpit.procedure/v1` (docs/procedures.md). A pack is an archetype of work (a bugfix, a
dependency upgrade, a docs change): its tier and lane, the lane sequence with what each
lane's agent is told, the packets the work needs, a scope template, validation commands
and a rollback profile.

Validation is strict (unknown keys refused, every error one sentence naming the file and
the field). Templates are filled by `fill`: `{name}` for one of `PLACEHOLDERS`, `{{` and
`}}` for literal braces, nothing else; validation commands and surface globs are never
templated (a title typed at booking never becomes part of a shell line or a glob).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cockpit.domain import Kind, Tier
from cockpit.engine.entries import wording
from cockpit.engine.entries.models import (
    ARCHETYPE_PATTERN,
    ProcedureRecord,
    ProcedureStep,
    RollbackProfile,
    agent_kinds,
)
from cockpit.engine.entries.parse import path_escapes
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.engine.workspace.layout import PROCEDURES_DIR
from cockpit.errors import InputError

PROCEDURE_SCHEMA = "cockpit.procedure/v1"
MAX_PACK_BYTES = 256 * 1024
# What a template may name, and what each stands for.
PLACEHOLDERS: dict[str, str] = {
    "id": "the work package's id",
    "title": "its title (--title)",
    "target_repo": "its target repository (--target-repo)",
    "lane": "the lane it is booked into",
}
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def placeholders(text: str) -> list[str]:
    """The placeholders `text` names, in order; ValueError for an unknown one or a brace
    that opens or closes nothing."""
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise ValueError(f"a lone {token!r} (write {token * 2} for a literal brace)")
        name = match.group(1)
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{n}}}" for n in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {{{name}}} (the placeholders are {known})")
        names.append(name)
    return names


def fill(text: str, values: Mapping[str, str | None], where: str = "") -> str:
    """`text` with each placeholder replaced by its value (plain text substitution, once:
    a value holding braces is not read again). Raises InputError naming `where` for a
    placeholder whose value the booking did not give."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        value = values.get(name) if name is not None else None
        if value is None:
            option = f" (give --{name.replace('_', '-')})" if name else ""
            raise InputError(f"{where or 'a template'} uses {{{name}}}, which has no value{option}")
        return value

    placeholders(text)  # refuses what is not a template
    return _TOKEN.sub(replace, text)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScopeTemplate(_Strict):
    """The scope a WP booked from the pack starts with."""

    objective: str = Field(min_length=1, description="The objective (a template).")
    success_criteria: list[str] = Field(default_factory=list, description="Templates.")
    owned_surfaces: list[str] = Field(default_factory=list, description="Globs it may change.")
    forbidden_surfaces: list[str] = Field(default_factory=list, description="Globs it must not.")
    labels: list[str] = Field(default_factory=list, description="Labels of the WP.")


class Pack(_Strict):
    """A procedure pack, as written in `procedures/<archetype>.yaml`."""

    schema_: Literal["cockpit.procedure/v1"] = Field(alias="schema")
    archetype: str = Field(pattern=ARCHETYPE_PATTERN, description="The file's stem.")
    description: str = Field(min_length=1, description="What the procedure is for.")
    tier: Tier = Field(description="The tier WPs are booked in.")
    lane: str = Field(min_length=1, description="The lane WPs are booked into.")
    required_packets: list[Kind] = Field(min_length=1, description="Entry kinds the work needs.")
    _agent_kinds = field_validator("required_packets")(agent_kinds)
    sequence: list[ProcedureStep] = Field(min_length=1, description="The lane sequence.")
    scope: ScopeTemplate = Field(description="The scope template.")
    validation_commands: list[str] = Field(default_factory=list, description="Shell lines.")
    rollback: RollbackProfile | None = Field(default=None, description="The rollback profile.")

    @model_validator(mode="after")
    def _consistent(self) -> Pack:
        lanes = list(dict.fromkeys(step.lane for step in self.sequence))
        if self.lane not in lanes:
            raise ValueError(f"lane: {self.lane} has no step in sequence (its lanes: {lanes})")
        steps = [step.step for step in self.sequence]
        for name in steps:
            if steps.count(name) > 1:
                raise ValueError(f"sequence: the step {name} is named twice")
        if self.tier is Tier.DEEP and self.rollback is None:
            raise ValueError("rollback: required for the deep tier (its plan is the rollback_plan)")
        for where, text in self.templates():
            try:
                placeholders(text)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        surfaces = [("scope.owned_surfaces", g) for g in self.scope.owned_surfaces]
        surfaces += [("scope.forbidden_surfaces", g) for g in self.scope.forbidden_surfaces]
        for where, glob in surfaces:
            if path_escapes(glob):
                raise ValueError(f"{where}: {glob!r} escapes the worktree (absolute or '..')")
        return self

    def templates(self) -> list[tuple[str, str]]:
        """(field, text) of every text that takes placeholders."""
        texts = [("scope.objective", self.scope.objective)]
        criteria = self.scope.success_criteria
        texts += [(f"scope.success_criteria[{i}]", t) for i, t in enumerate(criteria)]
        texts += [(f"sequence[{i}].context", s.context) for i, s in enumerate(self.sequence)]
        if self.rollback is not None:
            texts.append(("rollback.plan", self.rollback.plan))
            texts += [(f"rollback.triggers[{i}]", t) for i, t in enumerate(self.rollback.triggers)]
        return texts


@dataclass(frozen=True)
class LoadedPack:
    """A valid pack, the file it came from (as the workspace names it) and its sha256."""

    pack: Pack
    file: str
    sha256: str

    def record(self, values: Mapping[str, str | None]) -> ProcedureRecord:
        """What a WP booked from it keeps (`body.procedure`), its templates filled."""
        pack = self.pack

        def filled(text: str, where: str) -> str:
            return fill(text, values, f"{self.file}: {where}")

        rollback = None
        if pack.rollback is not None:
            rollback = RollbackProfile(
                plan=filled(pack.rollback.plan, "rollback.plan"),
                triggers=[filled(t, "rollback.triggers") for t in pack.rollback.triggers],
            )
        return ProcedureRecord(
            archetype=pack.archetype,
            sha256=self.sha256,
            description=pack.description,
            required_packets=pack.required_packets,
            sequence=[
                ProcedureStep(
                    lane=s.lane, step=s.step, context=filled(s.context, f"{s.step}.context")
                )
                for s in pack.sequence
            ],
            rollback=rollback,
        )


def check_name(name: str) -> str:
    """`name` if it can be a pack's name (the stem of `procedures/NAME.yaml`); InputError
    otherwise (so a name never reaches outside `procedures/`)."""
    if not re.fullmatch(ARCHETYPE_PATTERN, name):
        raise InputError(
            f"--procedure takes a pack's name, the stem of procedures/NAME.yaml (lowercase "
            f"letters, digits, '-' and '_'), not {name!r}"
        )
    return name


def pack_names(root: Path) -> list[str]:
    """The names of the packs in the workspace at `root`, sorted."""
    directory = root / PROCEDURES_DIR
    try:
        return sorted(
            p.stem for p in directory.glob("*.yaml") if p.is_file() and not p.is_symlink()
        )
    except OSError:
        return []


def load_pack(root: Path, name: str) -> LoadedPack:
    """The pack `procedures/<name>.yaml` of the workspace at `root`, validated. Raises
    InputError with one sentence naming the file (and the field) for a name that cannot
    be a pack's, a missing or unreadable file, and a pack that is not valid."""
    check_name(name)
    shown = f"{PROCEDURES_DIR}/{name}.yaml"
    path = root / shown
    if path.is_symlink():
        raise InputError(f"{shown} is a symbolic link; a pack must be a file of its own")
    if not path.is_file():
        there = pack_names(root)
        listed = f"the packs there: {', '.join(there)}" if there else "it holds none"
        raise InputError(f"no procedure pack {name}: {shown} does not exist ({listed})")
    return parse_pack(_read_bounded(path, shown), shown, name)


def _read_bounded(path: Path, shown: str) -> bytes:
    """The file's bytes, one more than the limit at most; never through a symbolic link,
    never waiting on a FIFO put in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"{shown} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError(f"{shown} is not a regular file")
        return handle.read(MAX_PACK_BYTES + 1)


def parse_pack(data: bytes, file: str, name: str) -> LoadedPack:
    """The pack in `data` (the bytes of `file`, whose stem is `name`). Raises InputError."""
    if len(data) > MAX_PACK_BYTES:
        raise InputError(f"{file} is larger than {MAX_PACK_BYTES // 1024} KiB")
    try:
        document: Any = load_yaml(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{file} is not UTF-8 text") from None
    except ValueError as exc:  # YAML syntax, or anchors, aliases and tags (refused)
        raise InputError(f"{file} is not valid YAML ({exc})") from None
    if not isinstance(document, dict):
        raise InputError(f"{file} is not a mapping of a procedure pack's fields")
    if document.get("schema") != PROCEDURE_SCHEMA:
        raise InputError(
            f"{file}: schema must be {PROCEDURE_SCHEMA}, got {document.get('schema')!r}"
        )
    try:
        pack = Pack.model_validate(document)
    except ValidationError as exc:
        raise InputError(f"{file}: {wording.describe(exc, Pack)}") from None
    if pack.archetype != name:
        raise InputError(
            f"{file}: archetype {pack.archetype!r} must equal the file's stem {name!r}"
        )
    return LoadedPack(pack, file, hashlib.sha256(data).hexdigest())
