"""The agent's private repository (SPEC 10.3, "Git inside the sandbox").

A sandboxed agent never sees the target repo's shared git directory writable. Before each
run the runner makes `.cockpit/agent-git/<WP>/repo/`: its own `HEAD` (on `wp/<WP>`),
index (a copy of the worktree's), refs (the shared branches and tags, packed) and object
directory, with the shared object store as a read-only alternate; and a file
`.cockpit/agent-git/<WP>/gitfile` (`gitdir: <that repo>`) that the sandbox shows at the
worktree's `.git`. The agent commits there. After the run (every process of the sandbox
gone) the runner rewrites what in that directory could make git run something (config,
hooks, info/, alternates), fetches `wp/<WP>` from it into the target repo with
`transfer.fsckObjects` (git checks every object), and moves the shared branch itself.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.workspace.layout import Workspace

_CONFIG = "[core]\n\trepositoryformatversion = {version}\n\tbare = false\n{extensions}"


@dataclass(frozen=True)
class PrivateGit:
    """A run's private repository: `git_dir`, the `gitfile` shown at the worktree's
    `.git`, and the shared object store it borrows from (read-only)."""

    root: Path
    git_dir: Path
    gitfile: Path
    shared_objects: Path


def private_root(ws: Workspace, wp_id: str) -> Path:
    return ws.state_dir / "agent-git" / wp_id


def _common_dir(tree: gitops.Worktree) -> Path:
    out = gitops.run(tree, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(out.strip())


def _config(tree: gitops.Worktree) -> str:
    try:
        fmt = gitops.run(tree, "rev-parse", "--show-object-format").strip()
    except GitError:
        fmt = "sha1"
    if fmt == "sha1":
        return _CONFIG.format(version=0, extensions="")
    return _CONFIG.format(version=1, extensions=f"[extensions]\n\tobjectformat = {fmt}\n")


def make(ws: Workspace, tree: gitops.Worktree, wp_id: str, branch: str) -> PrivateGit:
    """A fresh private repository for one run of the WP's agent. Raises GitError."""
    root = private_root(ws, wp_id)
    shutil.rmtree(root, ignore_errors=True)
    git_dir = root / "repo"
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (git_dir / sub).mkdir(parents=True, exist_ok=True)
    shared = _common_dir(tree) / "objects"
    (git_dir / "objects" / "info" / "alternates").write_text(f"{shared}\n", encoding="utf-8")
    listed = gitops.run(
        tree, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", "refs/tags/"
    )
    refs = sorted(line for line in listed.splitlines() if " refs/" in line)
    (git_dir / "packed-refs").write_text(
        "".join(f"{line}\n" for line in sorted(refs, key=lambda r: r.split(" ", 1)[1])),
        encoding="utf-8",
    )
    (git_dir / "HEAD").write_text(f"ref: refs/heads/{branch}\n", encoding="utf-8")
    (git_dir / "config").write_text(_config(tree), encoding="utf-8")
    index = tree.git_dir / "index"
    if index.is_file() and not index.is_symlink():
        shutil.copyfile(index, git_dir / "index")
    gitfile = root / "gitfile"
    gitfile.write_text(f"gitdir: {git_dir}\n", encoding="utf-8")
    return PrivateGit(root, git_dir, gitfile, shared)


def _defuse(private: PrivateGit, config: str) -> None:
    """Put back what the agent could have changed to make git run something or read
    elsewhere: the config, hooks, info/, alternates, a commondir or gitdir file."""
    git_dir = private.git_dir
    for name in ("hooks", "info", "commondir", "gitdir", "shallow", "modules", "worktrees"):
        path = git_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for name, text in (
        ("config", config),
        ("objects/info/alternates", f"{private.shared_objects}\n"),
    ):
        path = git_dir / name
        _real_dirs(git_dir, path.parent.relative_to(git_dir))
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        path.write_text(text, encoding="utf-8")


def _real_dirs(root: Path, rel: Path) -> None:
    """Each directory from `root` down to `root/rel` a real one: a link or file the agent
    put in its place is removed (never followed), then the directory made."""
    path = root
    for part in rel.parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        path.mkdir(exist_ok=True)


def absorb(ws: Workspace, tree: gitops.Worktree, wp_id: str, branch: str) -> dict[str, Any]:
    """After the run: fetch `branch` from the WP's private repository into the target repo
    (objects checked by git) and move the shared branch there. Returns what happened
    (for `agent_exited`); {} if there is no private repository."""
    root = private_root(ws, wp_id)
    private = PrivateGit(root, root / "repo", root / "gitfile", _common_dir(tree) / "objects")
    if not private.git_dir.is_dir() or private.git_dir.is_symlink():
        return {}
    _defuse(private, _config(tree))
    ref = f"refs/heads/{branch}"
    incoming = f"refs/cockpit/incoming/{wp_id}"
    before = None
    with contextlib.suppress(GitError):
        before = gitops.rev(tree, ref)
    result: dict[str, Any] = {"branch": branch, "before": before}
    try:
        gitops.run(
            tree,
            "-c",
            "transfer.fsckObjects=true",
            "-c",
            "protocol.file.allow=always",
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
            str(private.git_dir),
            f"+{ref}:{incoming}",
        )
        tip = gitops.rev(tree, incoming)
        gitops.run(tree, "update-ref", ref, tip)
        # The worktree's own index follows its branch (the files are left as they are).
        gitops.run(tree, "read-tree", "HEAD")
        result["after"] = tip
    except GitError as exc:
        result["error"] = f"the agent's commits could not be taken: {exc}"
    finally:
        with contextlib.suppress(GitError):
            gitops.run(tree, "update-ref", "-d", incoming)
    shutil.rmtree(root, ignore_errors=True)
    return result
