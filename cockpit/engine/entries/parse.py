"""The parser for entry files (SPEC 3): the first line of defence against untrusted files.

It enforces the stateless rejection codes (`parse_error` through `schema_error`, and
`path_escape`) and never executes or interprets anything beyond plain YAML data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from cockpit.domain import REF_PATTERN, Kind, RejectionCode, is_valid_id
from cockpit.engine.entries.models import (
    BODY_MODELS,
    MAX_ENTRY_BYTES,
    STORABLE,
    ClaimBody,
    Entry,
    EntryRejected,
    EvidenceBody,
    ParsedEntry,
    WorkPackageBody,
)
from cockpit.engine.entries.safe_yaml import UnsafeYaml, YamlSyntaxError, read_yaml
from cockpit.engine.entries.wording import describe, field_names


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M
)


def _load_document(text: str, filename: str) -> tuple[Any, str | None, bool]:
    """Return (front matter or YAML document, Markdown body or None, whether the store can
    keep the document as it is: safe_yaml.read_yaml)."""
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
        doc, storable = read_yaml(text)
    except YamlSyntaxError as exc:
        raise EntryRejected(RejectionCode.PARSE_ERROR, f"not valid YAML: {exc}") from None
    except UnsafeYaml as exc:
        raise EntryRejected(RejectionCode.UNSAFE_YAML, str(exc)) from None
    return doc, markdown, storable


def _schema_message(exc: ValidationError, kind: Kind, doc: dict[Any, Any], body: bool) -> str:
    """The sentence of a schema_error (the error path only): a body key written at the top
    level first, then the first problem in the product's words (wording.describe)."""
    body_model = BODY_MODELS[kind]
    body_keys = set(field_names(body_model)) - {"description"}
    misplaced = [k for k in doc if k in body_keys and k not in Entry.model_fields]
    if misplaced:
        return (
            f"`{misplaced[0]}` belongs in the body of {kind.article} {kind.value} entry: "
            "indent it under `body:`"
        )
    if body:
        return describe(exc, body_model, "body")
    return describe(exc, Entry)


def parse_entry(data: bytes, filename: str, sha256: str | None = None) -> ParsedEntry:
    """Parse and validate one entry file's bytes (`sha256`: their hash, if known).

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
    doc, markdown, storable = _load_document(text, filename)
    # Read line by line, the document holds nothing the store cannot keep: not checked again.
    context = STORABLE if storable else None
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
        body = BODY_MODELS[kind].model_validate(body_data, context=context)
    except ValidationError as exc:
        raise EntryRejected(
            RejectionCode.SCHEMA_ERROR, _schema_message(exc, kind, doc, True), entry_id
        ) from None
    try:
        entry = Entry.model_validate({**doc, "body": body}, context=context)
    except ValidationError as exc:
        raise EntryRejected(
            RejectionCode.SCHEMA_ERROR, _schema_message(exc, kind, doc, False), entry_id
        ) from None
    # The stored text is the file's exact text (a byte-order mark included), so its UTF-8
    # bytes are the bytes the entry's sha256 and signature cover.
    raw = text if not data.startswith(b"\xef\xbb\xbf") else data.decode("utf-8")
    digest = sha256 or sha256_hex(data)
    return ParsedEntry(entry=entry, sha256=digest, raw=raw, file=filename, data=data)


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
