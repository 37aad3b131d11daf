"""A `Diff` printed for a terminal (SPEC 11.1): a unified diff in git's conventions and a
`--stat` like git's, every character of the change that could hide or reorder what is
shown (control characters, bidirectional and other invisible formatting characters, line
and paragraph separators) written as a visible escape (`\\x1b`, `\\u202e`; a carriage
return as `\\r`). Tabs are kept.

Cockpit adds a few lines of its own, each starting `# cockpit: `: a flagged file, a file
cut at the per-file cap, a file past the change's line cap. A binary file's sizes and
sha256 are extended header lines (`old size N sha256 H`, `new size N sha256 H`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import replace

from cockpit.engine.repo.diff import MAX_FILE_BYTES, MAX_LINES, Diff, FileDiff

_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})
FLAG_WORDS = {
    "attributes": "a .gitattributes file (it changes how git reads files)",
    "submodules": "a .gitmodules file (it names other repositories)",
    "ci": "CI configuration (it runs when the change is pushed)",
    "repository": "a pointer to a commit of another repository (a submodule, or a repository "
    "inside the worktree): its files are not shown",
}


def visible(text: str) -> str:
    """`text` with every control, format (bidirectional included) and separator character
    written as an escape; tabs kept."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for char in text:
        if char == "\r":
            out.append("\\r")
        elif char != "\t" and unicodedata.category(char) in _HIDDEN:
            code = ord(char)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else
                f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )  # fmt: skip
        else:
            out.append(char)
    return "".join(out)


def _abbrev(oid: str | None) -> str:
    return (oid or "0" * 40)[:7]


def _header(f: FileDiff) -> Iterator[str]:
    old_name = visible(f.old_path or f.path)
    new_name = visible(f.path)
    yield f"diff --git a/{old_name} b/{new_name}"
    if f.flag:
        yield f"# cockpit: flagged: {FLAG_WORDS[f.flag]}"
    if f.status == "added":
        yield f"new file mode {f.new_mode}"
    elif f.status == "deleted":
        yield f"deleted file mode {f.old_mode}"
    elif f.old_mode != f.new_mode:
        yield f"old mode {f.old_mode}"
        yield f"new mode {f.new_mode}"
    if f.status == "renamed":
        yield f"similarity index {f.similarity or 0}%"
        yield f"rename from {old_name}"
        yield f"rename to {new_name}"
    if f.old_blob != f.new_blob:
        same = f.old_mode if f.old_mode == f.new_mode else None
        yield f"index {_abbrev(f.old_blob)}..{_abbrev(f.new_blob)}" + (f" {same}" if same else "")


def unified(diff: Diff) -> Iterator[str]:
    """The diff as the lines of a unified diff (no line ends). A file whose type changed
    (a file became a symlink, say) is two sections, its deletion and its addition, as git
    prints it."""
    for f in diff.files:
        if f.old_mode and f.new_mode and f.old_mode[:3] != f.new_mode[:3]:
            gone = tuple(h for h in f.hunks if h.new_start == h.new_lines == 0)
            came = tuple(h for h in f.hunks if h not in gone)
            yield from _file(replace(f, status="deleted", new_mode=None, new_blob=None, hunks=gone))
            yield from _file(replace(f, status="added", old_mode=None, old_blob=None, hunks=came))
        else:
            yield from _file(f)


def _file(f: FileDiff) -> Iterator[str]:
    """One file's part of the unified diff."""
    yield from _header(f)
    old = "/dev/null" if f.status == "added" else f"a/{visible(f.old_path or f.path)}"
    new = "/dev/null" if f.status == "deleted" else f"b/{visible(f.path)}"
    if f.binary:
        if f.old_size is not None:
            yield f"old size {f.old_size} sha256 {f.old_sha256}"
        if f.new_size is not None:
            yield f"new size {f.new_size} sha256 {f.new_sha256}"
        yield f"Binary files {old} and {new} differ"
        return
    if f.omitted:
        yield (
            f"# cockpit: not shown (+{f.additions} -{f.deletions}): the diff of a change "
            f"is shown up to {MAX_LINES} lines"
        )
        return
    if not f.hunks and not f.truncated:
        return
    yield f"--- {old}"
    yield f"+++ {new}"
    for hunk in f.hunks:
        section = f" {visible(hunk.section)}" if hunk.section else ""
        yield (
            f"@@ -{_range(hunk.old_start, hunk.old_lines)} "
            f"+{_range(hunk.new_start, hunk.new_lines)} @@{section}"
        )
        for line in hunk.lines:
            yield f"{line.kind}{visible(line.text)}"
            if line.no_newline:
                yield "\\ No newline at end of file"
    if f.truncated:
        hidden = (
            f.additions
            + f.deletions
            - sum(1 for h in f.hunks for line in h.lines if line.kind != " ")
        )
        yield (
            f"# cockpit: cut here ({hidden} more changed line(s) not shown): the diff "
            f"of a file is shown up to {MAX_FILE_BYTES // 1024} KiB and that of a change "
            f"up to {MAX_LINES} lines"
        )


def _range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


def _name(f: FileDiff) -> str:
    if f.status == "renamed" and f.old_path:
        return f"{visible(f.old_path)} => {visible(f.path)}"
    return visible(f.path)


def stat(diff: Diff, width: int = 80) -> list[str]:
    """`git diff --stat`'s lines: a name, the count of changed lines and a graph of
    them per file (`Bin A -> B bytes` for binary files), then the totals. A file that is
    flagged or not owned is marked after its graph (`[ci]`, `[outside]`)."""
    if not diff.files:
        return []  # git prints nothing for an empty change
    names = [_name(f) for f in diff.files]
    counts = [f.additions + f.deletions for f in diff.files]
    name_width = max(len(n) for n in names)
    count_width = max(len(str(c)) for c in counts)
    graph_width = max(width - name_width - count_width - 6, 10)
    biggest = max(counts) or 1
    lines = []
    for f, name, count in zip(diff.files, names, counts, strict=True):
        if f.binary:
            shown = f"Bin {f.old_size or 0} -> {f.new_size or 0} bytes"
        else:
            plus, minus = f.additions, f.deletions
            if biggest > graph_width:
                plus = _scale(plus, graph_width, biggest)
                minus = _scale(minus, graph_width, biggest)
            shown = f"{count:>{count_width}} {'+' * plus}{'-' * minus}".rstrip()
        marks = [m for m in (f.flag, f.scope if f.scope not in ("", "owned") else None) if m]
        mark = "".join(f" [{m}]" for m in marks)
        lines.append(f" {name:<{name_width}} | {shown}{mark}")
    files = len(diff.files)
    summary = f" {files} file{'s' if files != 1 else ''} changed"
    added, removed = diff.additions, diff.deletions
    if added or not removed:
        summary += f", {added} insertion{'s' if added != 1 else ''}(+)"
    if removed or not added:
        summary += f", {removed} deletion{'s' if removed != 1 else ''}(-)"
    return [*lines, summary]


def _scale(value: int, width: int, biggest: int) -> int:
    return 0 if value == 0 else 1 + (value * (width - 1)) // biggest
