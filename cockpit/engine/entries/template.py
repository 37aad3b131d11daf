"""Entry templates (`cockpit new`): the YAML text of an entry with what Cockpit knows filled
in and every body field written out under a comment saying what it takes. A field marked
REQUIRED is left empty, so a template submitted before it is filled in is refused (a
`schema_error` naming the field) rather than queued with placeholder text.

Pure: the caller (the workspace plane's drafts) gathers the values; this module writes them.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from cockpit.domain import Kind
from cockpit.engine.entries.models import BODY_MODELS, ENTRY_SCHEMA, EvidenceItem
from cockpit.engine.entries.safe_yaml import load_yaml

WIDTH = 92
# Fields a person or an agent never writes: evidence a driver measured is the runner's; a
# WP's procedure is what `cockpit book --procedure` copies from its pack.
NOT_WRITTEN = frozenset({("evidence", "measured_by"), ("work_package", "procedure")})

# What each field takes, as a template says it (else the model's own description).
NOTES: dict[str, str] = {
    "work_package.title": "A short name for the board.",
    "work_package.objective": "What the work must achieve; the agent is prompted with it.",
    "work_package.success_criteria": 'Checkable statements, e.g. ["page_count(20, 10) == 2"].',
    "work_package.owner": "The principal (an agent) who does the work; a claim must name it.",
    "work_package.accountable": "The principal who answers for the outcome.",
    "work_package.lane": "The lane of cockpit.yaml whose agent carries the work.",
    "work_package.owned_surfaces": 'Globs of the paths the agent may change, e.g. ["src/**"].',
    "work_package.forbidden_surfaces": 'Globs it must not change, e.g. [".github/**"].',
    "work_package.validation_commands": "Shell command lines that must exit 0, e.g. "
    '["python3 -m pytest -q"].',
    "work_package.target_repo": "The git repository the work changes (relative to the "
    "workspace, or absolute); the WP then gets its own worktree. Empty: the workspace itself.",
    "work_package.rollback_plan": "How the change would be undone; required for the deep tier.",
    "common_ground.version": "One more than the WP's latest common ground.",
    "common_ground.stage": "Free text, e.g. execution or claim.",
    "dispatch.to": "The agent the WP goes to: it must hold `claim` and serve the WP's lane.",
    "dispatch.next_gate": "What the agent should reach next.",
    "scope_confirmation.confirmed": "true takes the work as dispatched; false (say why in "
    "notes) hands it back to the owner.",
    "scope_confirmation.notes": "What you understood, or why not.",
    "review.findings": 'What you found, e.g. ["the retry limit is not documented"].',
    "review.head": "The verified head reviewed (`cockpit diff WP --json` shows it); an "
    "`accepted` must name the latest. Filled in when a verify measured one.",
    "review.comments": "Comments on lines of that change, e.g. [{path: src/app.py, line: 12, "
    'side: new, text: "handle the empty list"}] (side `old`: a removed line).',
    "claim.done_state": "Only `done` can be admitted; say `partial` or `not_fixed` honestly.",
    "claim.common_ground": "The common ground the claim rests on: {id, version, hash} of the "
    "WP's latest; filled in when there is one.",
    "claim.evidence": "Ids of your evidence entries (ingested first: `cockpit new evidence`).",
    "claim.owner": "Who did the work: the WP's owner.",
    "claim.accountable": "Who answers for it: the WP's accountable.",
    "claim.summary": "What was done, in a few lines.",
    "claim.unresolved_questions": "Anything still open; any one withholds admission.",
    "evidence.items": "What proves the work: one item per proof (add more as needed).",
    "evidence.missing": 'What could not be proven, e.g. ["not_proven: load test"].',
    "recovery.next_action": "What happens next to get the WP moving.",
    "recovery.recovery_owner": "The principal who takes that action.",
    "candidate.record": "The text proposed for canon (never a secret: it is scanned).",
    "veto.reason": "Why the veto is raised (or lifted).",
}
ITEM_NOTES: dict[str, str] = {
    "class": "How strong the proof is.",
    "ref": "The file or test this item is about, relative to the worktree.",
    "sha256": "The sha256 of `ref`'s bytes, if you pin it.",
    "command": "The command you ran (for a command proof).",
    "exit_code": "Its exit code.",
    "log": "The end of its output.",
}


@dataclass
class Template:
    """What a template says: its header fields (in order), the body values filled in, and
    notes that add to a field's comment (e.g. which verdict the WP's state calls for)."""

    kind: Kind
    head: dict[str, Any]
    body: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    refs_note: str = ""
    file: str = ""  # the file it is written to, named in its first comment
    submit: str = "cockpit submit"  # how it is queued (with --sign where entries are signed)


def render(template: Template) -> str:
    """The template's YAML text, comments included."""
    kind = template.kind
    file = template.file or f"{template.head['id']}.yaml"
    lines = _comment(
        f"A {kind.value} entry for {template.head['work_package']}, made by `cockpit new`. "
        "Fill in each field marked REQUIRED (and check the ones filled in), then run "
        f"`{template.submit} {file}`. Every field: `cockpit schema {kind.value}`.",
        "",
    )
    lines += [f"schema: {ENTRY_SCHEMA}", f"kind: {kind.value}"]
    for key, value in template.head.items():
        if key == "refs":
            if template.refs_note:
                lines += _comment(template.refs_note, "")
            lines.append(f"refs: {scalar(value)}")
        else:
            lines.append(f"{key}: {scalar(value)}")
    lines.append("body:")
    model = BODY_MODELS[kind]
    names = [n for n in model.model_fields if n != "description"] + ["description"]
    for name in names:
        if (kind.value, name) in NOT_WRITTEN:
            continue
        info = model.model_fields[name]
        note = NOTES.get(f"{kind.value}.{name}") or _description(info)
        extra = template.notes.get(name, "")
        if name in template.body:
            lines += _comment(_joined(note, _choices(info), extra), "  ")
            lines.append(f"  {name}: {scalar(template.body[name])}".rstrip())
        elif name == "items" and kind is Kind.EVIDENCE:
            lines += _comment(_joined(note, extra), "  ")
            lines += ["  items:", *_evidence_item()]
        elif info.is_required():
            lines += _comment(_joined("REQUIRED. " + note, _choices(info), extra), "  ")
            lines.append(f"  {name}:")
        else:
            lines += _comment(_joined("Optional. " + note, _choices(info), extra), "  ")
            lines.append(f"  {name}: {_default(info)}".rstrip())
    return "\n".join(lines) + "\n"


def _evidence_item() -> list[str]:
    lines: list[str] = []
    for i, (name, info) in enumerate(EvidenceItem.model_fields.items()):
        key = info.alias or name
        prefix = "    - " if i == 0 else "      "
        marker = "REQUIRED. " if info.is_required() else "Optional. "
        text = _joined(marker + ITEM_NOTES.get(key, _description(info)), _choices(info))
        lines += _comment(text, "      ")
        lines.append(f"{prefix}{key}:")
    return lines


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    return "" if value is None else scalar(value)


def _description(info: FieldInfo) -> str:
    return " ".join((info.description or "").split())


def _choices(info: FieldInfo) -> str:
    """ "One of: a, b, c." for a field that takes one of a few values."""
    values = _allowed(info.annotation)
    return f"One of: {', '.join(values)}." if values else ""


def _allowed(annotation: Any) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    for member in get_args(annotation):
        if member is not type(None) and (values := _allowed(member)):
            return values
    return []


def _joined(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _comment(text: str, indent: str) -> list[str]:
    if not text:
        return []
    return textwrap.wrap(
        text,
        WIDTH - len(indent) - 2,
        initial_indent=f"{indent}# ",
        subsequent_indent=f"{indent}# ",
        break_on_hyphens=False,
    )


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@:+-]*")


def scalar(value: Any) -> str:
    """`value` as a one-line YAML value (flow style for lists and mappings)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Enum):
        return scalar(value.value)
    if isinstance(value, BaseModel):
        return scalar(value.model_dump(mode="json", by_alias=True))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(str(k))}: {scalar(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.fullmatch(text) and load_yaml(f"[{text}]") == [text]:
        return text
    return json.dumps(text, ensure_ascii=False)
