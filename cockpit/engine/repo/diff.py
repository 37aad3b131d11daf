"""The diff between a base commit and a tree (SPEC 11.1): what a reviewer reads.

Git computes it (`diff-tree -r -M -p` between the two trees) in a `content.neutral` git
directory: no config, attributes, textconv, external diff or filter of the repository
under review applies, so nothing in the tree (a `-diff`, a `textconv` driver, an `eol`
conversion) can hide or reshape content. The patch is parsed with `unidiff`; the file list,
modes and object ids come from git's `--raw -z` listing of the same diff, so no file name
is read back from the patch text.

- A file is binary only if either side holds a NUL byte (anywhere, not only in git's first
  8000 bytes); it is shown with its size and sha256, never its lines.
- Symlinks are shown as symlinks (the blob is the link's target; nothing is followed).
- Changes to `.gitattributes`, `.gitmodules` and CI configuration are flagged (`flag`).
- Caps: `MAX_FILE_BYTES` of diff per file (the rest of that file is cut, `truncated`) and
  `MAX_LINES` diff lines per change (files after that are named with their counts,
  `omitted`, not shown).
- Text is kept as data: a line's `text` is its content without the line end, bytes that
  are not UTF-8 read as U+FFFD. Printing it (`diff_text`) shows control and bidirectional
  characters as visible escapes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from cockpit.engine.repo import content, gitops
from cockpit.engine.repo.blobs import Blob, read_blobs
from cockpit.engine.repo.gitops import GitError

MAX_FILE_BYTES = 1024 * 1024  # of diff text per file
MAX_LINES = 50_000  # diff lines per change
_ZERO = frozenset({"0" * 40, "0" * 64})
STATUSES = {"A": "added", "D": "deleted", "M": "modified", "T": "modified", "R": "renamed"}
SYMLINK, GITLINK = "120000", "160000"
# CI configuration: what runs when the change is pushed (flagged, SPEC 11.1).
_CI_DIRS = (".github/", ".gitlab/", ".circleci/", ".buildkite/")
_CI_FILES = frozenset(
    {
        ".gitlab-ci.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
        "Jenkinsfile",
        ".drone.yml",
    }
)


def flag_of(path: str) -> str | None:
    """Why a path is flagged: `attributes` (.gitattributes, anywhere), `submodules`
    (.gitmodules), `ci` (CI configuration at the top), or None."""
    name = path.rsplit("/", 1)[-1]
    if name == ".gitattributes":
        return "attributes"
    if name == ".gitmodules":
        return "submodules"
    if path.startswith(_CI_DIRS) or path in _CI_FILES:
        return "ci"
    return None


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk: `kind` "+", "-" or " ", its numbers on each side (None on the
    side it is not on), its text without the line end; `no_newline` if the file ends
    there without one."""

    kind: str
    old_line: int | None
    new_line: int | None
    text: str
    no_newline: bool = False

    def coordinates(self) -> tuple[int, str]:
        """Where a comment on this line points (SPEC 11.2): the new side's number for an
        added or context line, the old side's for a removed one."""
        if self.kind == "-":
            return int(self.old_line or 0), "old"
        return int(self.new_line or 0), "new"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "old_line": self.old_line,
            "new_line": self.new_line,
            "text": self.text,
        }
        if self.no_newline:
            data["no_newline"] = True
        return data


@dataclass(frozen=True)
class Hunk:
    """A hunk: where it starts and how many lines it shows on each side, its lines, and
    `section`, the line git names after its `@@` header (the enclosing function)."""

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: tuple[DiffLine, ...]
    section: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "old_start": self.old_start,
            "old_lines": self.old_lines,
            "new_start": self.new_start,
            "new_lines": self.new_lines,
            "section": self.section,
            "lines": [line.to_json() for line in self.lines],
        }


@dataclass(frozen=True)
class FileDiff:
    """One file of the diff. `path` is its path in the new tree (the old one for a
    deleted file); `old_path` is set for a rename. `additions`/`deletions` count every
    line (shown or not; 0 for a binary file). `scope` is set by the gate plane's
    `change_of` (owned / forbidden / outside), empty here."""

    path: str
    status: str
    old_path: str | None
    additions: int
    deletions: int
    binary: bool
    hunks: tuple[Hunk, ...]
    old_mode: str | None
    new_mode: str | None
    old_blob: str | None
    new_blob: str | None
    old_size: int | None = None
    new_size: int | None = None
    old_sha256: str | None = None  # binary files only
    new_sha256: str | None = None
    similarity: int | None = None  # a rename's, in percent
    truncated: bool = False  # hunks cut at MAX_FILE_BYTES or at the change's MAX_LINES
    omitted: bool = False  # past the change's MAX_LINES: named, no hunks shown
    scope: str = ""

    @property
    def flag(self) -> str | None:
        by_path = flag_of(self.path) or (flag_of(self.old_path) if self.old_path else None)
        # A commit pointer: a submodule, or a repository the agent made inside its
        # worktree; its files are in no diff.
        return by_path or ("repository" if self.submodule else None)

    @property
    def symlink(self) -> bool:
        return SYMLINK in (self.old_mode, self.new_mode)

    @property
    def submodule(self) -> bool:
        return GITLINK in (self.old_mode, self.new_mode)

    @property
    def line_count(self) -> int:
        return sum(len(h.lines) for h in self.hunks)

    def shows(self, line: int, side: str = "new") -> bool:
        """True if the diff shows `line` of that side ("new": added or context; "old":
        removed or context)."""
        for hunk in self.hunks:
            for shown in hunk.lines:
                if (shown.new_line if side == "new" else shown.old_line) == line:
                    return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "old_path": self.old_path,
            "additions": self.additions,
            "deletions": self.deletions,
            "binary": self.binary,
            "scope": self.scope or None,
            "flag": self.flag,
            "symlink": self.symlink,
            "old_mode": self.old_mode,
            "new_mode": self.new_mode,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_sha256": self.old_sha256,
            "new_sha256": self.new_sha256,
            "truncated": self.truncated,
            "omitted": self.omitted,
            "hunks": [h.to_json() for h in self.hunks],
        }


@dataclass(frozen=True)
class Diff:
    """The diff from commit `base` to tree `tree` (of `head`, the tree-ish asked for)."""

    base: str
    head: str
    tree: str
    files: tuple[FileDiff, ...] = field(default_factory=tuple)

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    def file(self, path: str) -> FileDiff | None:
        return next((f for f in self.files if f.path == path), None)


@dataclass(frozen=True)
class _Raw:
    """One entry of `diff-tree --raw -z`."""

    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    status: str
    score: int | None
    old_path: str
    path: str


def _listing(out: str) -> list[_Raw]:
    tokens = out.split("\0")
    entries, i = [], 0
    while i < len(tokens) and tokens[i].startswith(":"):
        old_mode, new_mode, old_blob, new_blob, status = tokens[i][1:].split(" ")
        letter, score = status[0], int(status[1:]) if status[1:].isdigit() else None
        if letter in "RC":
            old_path, path, i = tokens[i + 1], tokens[i + 2], i + 3
        else:
            old_path = path = tokens[i + 1]
            i += 2
        entries.append(_Raw(old_mode, new_mode, old_blob, new_blob, letter, score, old_path, path))
    return entries


def _text(value: str) -> str:
    """A line's content without its line end, as valid Unicode (undecodable bytes, kept
    by gitops.run as surrogate escapes, read as U+FFFD)."""
    value = value[:-1] if value.endswith("\n") else value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _hunks(patched: PatchedFile) -> list[Hunk]:
    hunks = []
    for hunk in patched:
        lines: list[DiffLine] = []
        for line in hunk:
            if line.line_type == "\\":
                if lines:
                    last = lines[-1]
                    lines[-1] = DiffLine(
                        last.kind, last.old_line, last.new_line, last.text, no_newline=True
                    )
                continue
            if line.line_type not in ("+", "-", " "):
                continue  # unidiff's record of an empty line after the hunk
            lines.append(
                DiffLine(
                    line.line_type, line.source_line_no, line.target_line_no, _text(line.value)
                )
            )
        section = _text(hunk.section_header.rstrip("\n"))
        hunks.append(
            Hunk(hunk.source_start, hunk.source_length, hunk.target_start, hunk.target_length,
                 tuple(lines), section)
        )  # fmt: skip
    return hunks


def _cut(hunks: list[Hunk], max_bytes: int, max_lines: int) -> tuple[list[Hunk], bool]:
    """The hunks shown within `max_bytes` of diff text and `max_lines` lines, and whether
    anything was cut. A cut hunk's counts are those of the lines it keeps."""
    kept: list[Hunk] = []
    used = lines_used = 0
    for hunk in hunks:
        take: list[DiffLine] = []
        used += 40  # its header
        for line in hunk.lines:
            cost = len(line.text.encode("utf-8")) + 2
            if used + cost > max_bytes or lines_used >= max_lines:
                if take:
                    kept.append(_partial(hunk, take))
                return kept, True
            take.append(line)
            used += cost
            lines_used += 1
        kept.append(hunk)
    return kept, False


def _partial(hunk: Hunk, lines: list[DiffLine]) -> Hunk:
    old = sum(1 for line in lines if line.kind != "+")
    new = sum(1 for line in lines if line.kind != "-")
    return Hunk(hunk.old_start, old, hunk.new_start, new, tuple(lines), hunk.section)


def diff(root: gitops.Where, base: str, head: str) -> Diff:
    """The diff from commit `base` to the tree of `head` (a commit or a tree) in the
    repository at `root`, attributes and config of that repository ignored (see the
    module's docstring). Raises GitError."""
    with content.neutral(root) as env:
        where = Path(env["GIT_WORK_TREE"])
        base = gitops.run(where, "rev-parse", "--verify", "--end-of-options", f"{base}^{{commit}}",
                          extra_env=env).strip()  # fmt: skip
        tree = gitops.run(where, "rev-parse", "--verify", "--end-of-options", f"{head}^{{tree}}",
                          extra_env=env).strip()  # fmt: skip
        common = ("diff-tree", "-r", "--no-ext-diff", "--no-textconv", "--no-color")
        listed = gitops.run(
            where, *common, "-M", "--raw", "-z", "--no-abbrev", base, tree, extra_env=env
        )
        raws = _listing(listed)
        blobs = read_blobs(
            where,
            env,
            {o for r in raws for o in (r.old_blob, r.new_blob) if o not in _ZERO}
            - {r.old_blob for r in raws if r.old_mode == GITLINK}
            - {r.new_blob for r in raws if r.new_mode == GITLINK},
        )
        old_tree, new_tree = _patch_trees(where, env, raws, blobs)
        patch = gitops.run(where, *common, "-p", "--no-renames", old_tree, new_tree, extra_env=env)
    try:
        patched: dict[str, list[PatchedFile]] = {}
        for part in PatchSet(io.StringIO(patch)):
            patched.setdefault(part.path, []).append(part)
    except UnidiffParseError as exc:
        raise GitError(f"git's diff could not be read: {exc}") from None
    return Diff(base, head, tree, tuple(_files(raws, patched, blobs)))


def _binary(raw: _Raw, blobs: dict[str, Blob]) -> bool:
    old, new = blobs.get(raw.old_blob), blobs.get(raw.new_blob)
    return bool((old and old.nul) or (new and new.nul))


def _patch_trees(
    where: Path, env: dict[str, str], raws: list[_Raw], blobs: dict[str, Blob]
) -> tuple[str, str]:
    """Two trees holding the old and the new side of each text file of the diff under a
    plain name of its own (`f0000012`, its place in the listing): git's patch between them
    is the diff of each file (a rename's content included) with headers that no file name
    can make ambiguous, and binary files are left out of it."""
    sides: tuple[list[str], list[str]] = ([], [])
    for n, raw in enumerate(raws):
        if _binary(raw, blobs):
            continue
        for lines, mode, oid in ((sides[0], raw.old_mode, raw.old_blob),
                                 (sides[1], raw.new_mode, raw.new_blob)):  # fmt: skip
            if oid not in _ZERO:
                kind = "commit" if mode == GITLINK else "blob"
                lines.append(f"{mode} {kind} {oid}\t{_name(n)}\0")
    old, new = (
        gitops.run(where, "mktree", "-z", extra_env=env, stdin="".join(lines).encode()).strip()
        for lines in sides
    )
    return old, new


def _name(n: int) -> str:
    return f"f{n:07d}"


def _files(
    raws: list[_Raw], patched: dict[str, list[PatchedFile]], blobs: dict[str, Blob]
) -> Iterator[FileDiff]:
    """Each raw entry with its part of the patch (a type change has two), the caps
    applied in order."""
    lines_left = MAX_LINES
    for n, raw in enumerate(raws):
        mine = patched.pop(_name(n), [])
        if not mine and not _binary(raw, blobs) and raw.old_blob != raw.new_blob:
            raise GitError(f"git's diff could not be read: it shows nothing of {raw.path}")
        old, new = blobs.get(raw.old_blob), blobs.get(raw.new_blob)
        binary = _binary(raw, blobs)
        hunks = [h for part in mine for h in _hunks(part)] if not binary else []
        additions = sum(line.kind == "+" for h in hunks for line in h.lines)
        deletions = sum(line.kind == "-" for h in hunks for line in h.lines)
        shown, truncated = _cut(hunks, MAX_FILE_BYTES, lines_left)
        omitted = bool(hunks) and not shown and lines_left <= 0
        lines_left -= sum(len(h.lines) for h in shown)
        yield FileDiff(
            path=raw.path,
            status=STATUSES.get(raw.status, "modified"),
            old_path=raw.old_path if raw.status == "R" else None,
            additions=additions,
            deletions=deletions,
            binary=binary,
            hunks=tuple(shown),
            old_mode=None if raw.old_mode == "000000" else raw.old_mode,
            new_mode=None if raw.new_mode == "000000" else raw.new_mode,
            old_blob=None if raw.old_blob in _ZERO else raw.old_blob,
            new_blob=None if raw.new_blob in _ZERO else raw.new_blob,
            old_size=old.size if old else None,
            new_size=new.size if new else None,
            old_sha256=old.sha256 if old and binary else None,
            new_sha256=new.sha256 if new and binary else None,
            similarity=raw.score if raw.status == "R" else None,
            truncated=truncated and not omitted,
            omitted=omitted,
        )
    if patched:
        raise GitError("git's diff could not be read: it shows files that were not listed")
