"""What a new worktree gets besides its checkout (SPEC 11.4): a fetch of its base's
remote, the target repo's gitignored files the owner names (`.env`), and the setup
script's content as the owner approved it.

- **Fetch** only when the base has a remote: `base_ref` names a remote-tracking branch
  (`origin/main`), or names a local branch (or is HEAD on one) that has an upstream. It
  refreshes the remote-tracking branches; Cockpit never moves the owner's local
  branches, so a WP starts from the remote's latest only when its `base_ref` names the
  remote-tracking branch. A fetch that fails is recorded and the worktree is made from
  what is there (a laptop offline still works); a base that only the fetch could have
  brought is refused by `provision` naming the fetch's failure.
- **Copy** takes a file only if it exists in the target repo's checkout, is a regular
  file reached without following any symbolic link, and git ignores it there (a tracked
  file is the checkout's already; anything else is not the owner's local secret). It is
  written into the new worktree beneath directory handles opened without following
  links, never over an existing file.
- **The setup script** counted is the file the config names, read with git from the
  target repo at the WP's base commit, never from a worktree or branch an agent wrote.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Store

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
COPY_CHUNK = 1 << 20

# -- fetch ---------------------------------------------------------------------------------


def _remotes(repo: Path) -> list[str]:
    return [r for r in gitops.run(repo, "remote").split() if r]


def base_remote(repo: Path, ref: str) -> str | None:
    """The remote the base `ref` comes from: the remote of a remote-tracking branch, or
    the upstream's remote of a local branch (HEAD: the branch checked out). None when
    the base has no remote (a commit, a tag, a branch without upstream)."""
    remotes = _remotes(repo)
    if not remotes:
        return None
    try:
        full = gitops.run(
            repo, "rev-parse", "--symbolic-full-name", "--verify", "--quiet", ref
        ).strip()
    except GitError:
        full = ""  # not here yet: perhaps a remote branch the fetch brings
    if not full:
        full = f"refs/remotes/{ref.removeprefix('remotes/')}"
    if full.startswith("refs/remotes/"):
        name = full.removeprefix("refs/remotes/")
        owning = [r for r in remotes if name.startswith(r + "/")]
        return max(owning, key=len) if owning else None
    if full.startswith("refs/heads/"):
        upstream = gitops.run(
            repo, "for-each-ref", "--format=%(upstream:remotename)", "--", full
        ).strip()
        return upstream if upstream in remotes else None
    return None


def fetch_base(repo: Path, ref: str) -> dict[str, Any] | None:
    """Fetch the remote `ref` comes from (see base_remote); None when it has none.
    Returns what happened: `{remote, ok}`, with `error` (git's own sentence) when the
    fetch failed. Nothing it runs is configured by the repository: no hook, no
    upload-pack program other than git's own, no `ext::` transport, no submodule."""
    try:
        remote = base_remote(repo, ref)
    except GitError:
        return None  # no repository git can use: making the worktree says so
    if remote is None:
        return None
    try:
        gitops.run(
            repo,
            *("-c", "protocol.ext.allow=never"),
            "fetch",
            "--quiet",
            "--no-recurse-submodules",
            "--upload-pack=git-upload-pack",
            "--end-of-options",
            remote,
        )
    except GitError as exc:
        return {"remote": remote, "ok": False, "error": f"git fetch {remote} failed: {exc}"}
    return {"remote": remote, "ok": True}


# -- copy ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _parent(root: Path, rel: str, *, create: bool) -> Iterator[tuple[int, str]]:
    """A handle on the directory holding `rel` under `root` and the file's name, each
    directory opened without following a link (with `create`, made when missing)."""
    parts = rel.split("/")
    fd = os.open(root, _DIR)
    try:
        for part in parts[:-1]:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            inner = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd, parts[-1]
    finally:
        os.close(fd)


def _ignored(repo: Path, rel: str) -> bool:
    try:
        gitops.run(repo, "check-ignore", "--quiet", "--", rel)
    except GitError:
        return False  # exit 1: not ignored (or tracked)
    return True


def _copy_one(repo: Path, worktree: Path, rel: str) -> str | None:
    """Copy `rel`; None when done, else why not (one phrase)."""
    try:
        with _parent(repo, rel, create=False) as (src_dir, name):
            src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_dir)
    except FileNotFoundError:
        return "not in the target repo"
    except OSError as exc:
        linked = exc.errno in (errno.ELOOP, errno.ENOTDIR)
        return "a symbolic link" if linked else f"unreadable: {exc.strerror}"
    try:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if not _ignored(repo, rel):
            return "not ignored by git in the target repo"
        try:
            with _parent(worktree, rel, create=True) as (dst_dir, name):
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                dst = os.open(name, flags, stat.S_IMODE(info.st_mode) & 0o777, dir_fd=dst_dir)
        except FileExistsError:
            return "already in the worktree"
        except OSError as exc:
            return f"cannot be written in the worktree: {exc.strerror}"
        try:
            while chunk := os.read(src, COPY_CHUNK):
                os.write(dst, chunk)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return None


def copy_ignored(repo: Path, worktree: Path, paths: list[str]) -> dict[str, Any]:
    """Copy the gitignored files `paths` from the target repo into the new worktree (see
    the module text). Returns `{copied: [...], not_copied: [{path, reason}]}`."""
    copied: list[str] = []
    refused: list[dict[str, str]] = []
    for rel in paths:
        why = _copy_one(repo, worktree, rel)
        if why is None:
            copied.append(rel)
        else:
            refused.append({"path": rel, "reason": why})
    return {"copied": copied, "not_copied": refused}


# -- the setup script ----------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """The setup script as a commit holds it."""

    path: str
    commit: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _blob(repo: Path, oid: str) -> bytes:
    """A blob's exact bytes (git's output is read through GitPython, which drops one
    final newline: the size git reports puts it back)."""
    size = int(gitops.run(repo, "cat-file", "-s", oid).strip())
    data = gitops.run(repo, "cat-file", "blob", oid).encode("utf-8", "surrogateescape")
    if len(data) == size - 1:
        data += b"\n"
    if len(data) != size:
        raise GitError(f"blob {oid} could not be read whole")
    return data


def script_at(repo: Path, commit: str, path: str) -> Script:
    """The file `path` as `commit` of the repository holds it. Raises Refused when it is
    not there, or is not a regular file (a link, a directory, a submodule)."""
    try:
        full = gitops.rev(repo, commit)
        listed = gitops.run(
            repo, "ls-tree", "-z", full, "--", path, extra_env={"GIT_LITERAL_PATHSPECS": "1"}
        )
        entry = next((e for e in listed.split("\0") if e.endswith("\t" + path)), None)
        if entry is None:
            raise Refused(f"the setup script {path} is not in commit {full[:12]} of {repo}")
        mode, kind, oid = entry.split("\t", 1)[0].split()
        if kind != "blob" or mode not in ("100644", "100755"):
            raise Refused(
                f"the setup script {path} in commit {full[:12]} of {repo} is not a regular file"
            )
        return Script(path, full, _blob(repo, oid))
    except GitError as exc:
        raise Refused(f"the setup script {path} cannot be read from {repo}: {exc}") from None


def same_repo(ws: Workspace, a: str, b: Path) -> bool:
    """Whether the target repo `a` (as booked: absolute or relative to the workspace)
    is the repository at `b`."""
    return (ws.root / a).resolve() == b.resolve()


def approved_hashes(ws: Workspace, store: Store, repo: Path) -> set[str]:
    """The setup script contents approved for `repo`: `worktrees.setup_sha256` and every
    `setup_approved` recorded for that repository."""
    found = {ws.config.worktrees.setup_sha256} - {None}
    for event in store.find_events(types=(EventType.SETUP_APPROVED,), limit=10**9):
        if same_repo(ws, str(event.payload.get("target_repo")), repo):
            found.add(str(event.payload.get("sha256")))
    return {str(h) for h in found}


def repos_in_use(ws: Workspace, store: Store) -> dict[Path, str]:
    """The target repos the booked WPs name: resolved path -> the name as first booked."""
    found: dict[Path, str] = {}
    for wp in store.iter_work_packages(("target_repo",)):
        name = wp.get("target_repo")
        if name:
            found.setdefault((ws.root / str(name)).resolve(), str(name))
    return found


def file_digest(root: Path, rel: str) -> str | None:
    """The sha256 of the regular file `rel` under `root`, reached without following a
    link (None: there is no such file)."""
    try:
        with _parent(root, rel, create=False) as (folder, name):
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, COPY_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)
