"""`cockpit submit`: validate entry files, then place them into queue/new/ the Maildir way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.entries.models import EntryRejected, ParsedEntry
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.entries.reader import display_name, read_entry_file
from cockpit.engine.ingest.checks import check_static
from cockpit.engine.queue import maildir as queue
from cockpit.engine.workspace.layout import Workspace


@dataclass(frozen=True)
class SubmitError:
    file: str
    code: str
    message: str


def validate_file(ws: Workspace, path: Path) -> tuple[bytes, ParsedEntry]:
    """Read `path` once, with the sweep's own reader (so a symlink, FIFO or device is
    refused at once, never waited on), and run every check that needs no queue state
    (parse, schema, tenant, principal, capability, path escape). Returns the bytes read
    and the parsed entry; raises EntryRejected."""
    data = read_entry_file(path)
    parsed = parse_entry(data, display_name(path.name))
    check_static(parsed, ws.config)
    return data, parsed


def submit(ws: Workspace, paths: list[Path]) -> tuple[list[str], list[SubmitError]]:
    """Validate every file; if all pass, deliver each into queue/new/ in order.

    Returns (submitted entry ids, errors). When any file fails, nothing is delivered, so a
    batch is never half-submitted.
    """
    parsed: list[tuple[Path, bytes, ParsedEntry]] = []
    errors: list[SubmitError] = []
    for path in paths:
        try:
            parsed.append((path, *validate_file(ws, path)))
        except EntryRejected as exc:
            errors.append(SubmitError(str(path), exc.code.value, exc.message))
        except OSError as exc:
            errors.append(SubmitError(str(path), "unreadable", exc.strerror or str(exc)))
    if errors:
        return [], errors
    for path, data, entry in parsed:
        queue.deliver(ws, queue.readable_name(path.name, entry.entry.id), data)
    return [entry.entry.id for _, _, entry in parsed], []
