"""The rows the diff view draws for one file of a change: notes about the file (renamed,
mode, flagged, binary with its size and sha256, not shown), each hunk's `@@` header, its
lines, and under a line the draft comment on it. Built once per file shown (a list of the
engine's own DiffLine objects, so 20,000 lines cost a list's extend), drawn row by row."""

from __future__ import annotations

from rich.cells import cell_len

from cockpit.engine.repo.diff import MAX_FILE_BYTES, MAX_LINES, DiffLine, FileDiff
from cockpit.engine.repo.diff_text import FLAG_WORDS, visible
from cockpit.screens.changes.drafts import Draft

TAB = 4  # columns a tab stop is apart


class Note:
    """A row that is not a line of the file: `hunk` (an `@@` header), `note` (about the
    file) or `comment` (the draft on the line above)."""

    __slots__ = ("draft", "kind", "text")

    def __init__(self, kind: str, text: str, draft: Draft | None = None) -> None:
        self.kind = kind
        self.text = text
        self.draft = draft


Row = DiffLine | Note


def shown(text: str) -> str:
    """A line of the change as drawn: escapes for what could hide or reorder it, tabs
    expanded."""
    return visible(text).expandtabs(TAB)


def coordinates(line: DiffLine) -> tuple[int, str]:
    """Where a comment on `line` points: the engine's rule (DiffLine.coordinates)."""
    return line.coordinates()


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit} ({size} bytes)"
    return f"{size} bytes"


def file_notes(f: FileDiff) -> list[str]:
    """What is said about the file before its hunks."""
    notes = []
    if f.status == "renamed" and f.old_path:
        notes.append(f"renamed from {visible(f.old_path)} (similarity {f.similarity or 0}%)")
    if f.old_mode and f.new_mode and f.old_mode != f.new_mode and f.status == "modified":
        notes.append(f"mode {f.old_mode} → {f.new_mode}")
    if f.flag:
        notes.append(f"flagged: {FLAG_WORDS[f.flag]}")
    if f.symlink:
        notes.append("a symbolic link: its lines are the link's target (never followed)")
    if f.submodule:
        notes.append("a submodule: its lines are the commit it points to")
    if f.binary:
        notes.append("binary (it holds a NUL byte): not shown")
        for side, size, sha in (("old", f.old_size, f.old_sha256), ("new", f.new_size,
                                                                   f.new_sha256)):  # fmt: skip
            if size is not None:
                notes.append(f"{side}: {_size(size)}, sha256 {sha}")
    if f.omitted:
        notes.append(
            f"not shown (+{f.additions} -{f.deletions}): the diff of a change is shown up to "
            f"{MAX_LINES:,} lines"
        )
    if not f.binary and not f.omitted and not f.hunks and not f.truncated:
        notes.append(f"{f.status}, with no line to show")
    return notes


def file_rows(f: FileDiff, drafts: list[Draft]) -> list[Row]:
    """The rows of `f`, each draft (on this file) under the line it is about."""
    rows: list[Row] = [Note("note", text) for text in file_notes(f)]
    on: dict[tuple[int, str], Draft] = {(d.line, d.side): d for d in drafts}
    for hunk in f.hunks:
        rows.append(Note("hunk", f"@@ -{hunk.old_start},{hunk.old_lines} "
                                 f"+{hunk.new_start},{hunk.new_lines} @@"))  # fmt: skip
        if not on:
            rows.extend(hunk.lines)
            continue
        for line in hunk.lines:
            rows.append(line)
            draft = on.get(coordinates(line))
            if draft is not None:
                rows.append(Note("comment", draft.text, draft))
    if f.truncated:
        hidden = (
            f.additions
            + f.deletions
            - sum(1 for h in f.hunks for line in h.lines if line.kind != " ")
        )
        rows.append(Note("note", f"cut here ({hidden} more changed lines not shown): a file's "
                                 f"diff is shown up to {MAX_FILE_BYTES // 1024} KiB"))  # fmt: skip
    return rows


def number_width(f: FileDiff) -> int:
    """Cells for a line number of either side of `f`."""
    last = max(
        [h.old_start + h.old_lines for h in f.hunks] + [h.new_start + h.new_lines for h in f.hunks],
        default=1,
    )
    return len(str(last))


def text_width(rows: list[Row]) -> int:
    """The widest row's text in cells (rows of plain ASCII without tabs are counted by
    length: the common case costs a pass over the list)."""
    widest = 0
    for row in rows:
        text = row.text
        if text.isascii() and text.isprintable():
            widest = max(widest, len(text))
        else:
            widest = max(widest, cell_len(shown(text)))
    return widest
