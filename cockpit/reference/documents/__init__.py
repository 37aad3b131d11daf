"""What each command prints with `--json`: the shapes cli.md shows, written by hand and
held against the real output by tests/docs/test_json_shapes.py (a key the command prints
that is not named here, or a named key it does not print, fails that test).

When a command gains `--json` or its document changes, change its entry in `work` or
`record` and run `python -m cockpit.reference`.
"""

from __future__ import annotations

from cockpit.reference.documents import (
    change,
    delivery,
    record,
    report,
    simulate,
    work,
    worktrees,
)
from cockpit.reference.documents.base import ERROR, EVENT_KEYS, Document

DOCUMENTS: tuple[Document, ...] = (
    *work.DOCUMENTS,
    *record.DOCUMENTS,
    *report.DOCUMENTS,
    *simulate.DOCUMENTS,
    *worktrees.DOCUMENTS,
    *delivery.DOCUMENTS,
    *change.DOCUMENTS,
)

__all__ = ["DOCUMENTS", "ERROR", "EVENT_KEYS", "Document", "documents_of"]


def documents_of(command: str) -> list[Document]:
    return [d for d in DOCUMENTS if d.command == command]
