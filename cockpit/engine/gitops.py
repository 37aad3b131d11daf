"""Git, hardened: every git command Cockpit runs goes through `run` (GitPython's `Git`).

Git runs inside trees that agents wrote, and an agent can write the shared repository
config from its worktree (`git config core.fsmonitor ...`). So no config may run anything
or hide paths: fsmonitor, hooks, external diff and textconv are switched off on the
command line, the system and global config are not read, and no `GIT_*` variable of the
runner's own environment leaks in.
"""

from __future__ import annotations

import os
from pathlib import Path

import git

# Settings that override whatever the repository's own config says.
SAFETY = (
    "core.fsmonitor=",
    "core.hooksPath=/dev/null",
    "core.quotePath=false",
    "core.untrackedCache=false",
    "core.excludesFile=",
    "diff.external=",
    "commit.gpgSign=false",
    "advice.detachedHead=false",
)
TIMEOUT_S = 120


class GitError(RuntimeError):
    """A git command failed; the message is git's own last line of complaint."""


def _environment() -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
    )
    return env


def _filter_drivers(runner: git.Git) -> set[str]:
    """The content filter drivers the repository's config defines (reading config runs
    nothing). Each is switched off: an agent can define one from its worktree and name it
    in a .gitattributes, and git would run it on diff, status, add and checkout."""
    try:
        listed = runner.execute(
            ["git", "config", "-z", "--name-only", "--get-regexp", r"^filter\."],
            with_extended_output=False,
            kill_after_timeout=TIMEOUT_S,
        )
    except git.GitCommandError:
        return set()  # none defined (git exits 1)
    names = set()
    for key in str(listed).split("\0"):
        if key.count(".") >= 2:
            names.add(key.split(".", 1)[1].rsplit(".", 1)[0])
    return names


def run(root: Path, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """Run `git ARGS` in `root` with the safety settings; return stdout (undecodable bytes
    kept as surrogate escapes, so odd file names survive). Raises GitError."""
    runner = git.Git(str(root))
    env = _environment()
    env.update(extra_env or {})
    runner.update_environment(**env)
    command = ["git"]
    for setting in SAFETY:
        command += ["-c", setting]
    for driver in sorted(_filter_drivers(runner)):
        for part in ("clean", "smudge", "process"):
            command += ["-c", f"filter.{driver}.{part}="]
        command += ["-c", f"filter.{driver}.required=false"]
    command += list(args)
    try:
        raw = runner.execute(
            command,
            stdout_as_string=False,
            kill_after_timeout=TIMEOUT_S,
            with_extended_output=False,
        )
    except git.GitCommandError as exc:
        stderr = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
        # GitPython wraps git's stderr as "\n  stderr: '...'": unwrap it.
        stderr = stderr.strip().removeprefix("stderr: ")
        if stderr.startswith("'") and stderr.endswith("'"):
            stderr = stderr[1:-1]
        lines = [line.strip() for line in stderr.splitlines()]
        lines = [line for line in lines if line]
        said = [line for line in lines if line.startswith(("fatal:", "error:"))]
        problem = (said or lines or [f"git {args[0]} failed (exit {exc.status})"])[0]
        raise GitError(problem.removeprefix("fatal: ").removeprefix("error: ")) from None
    except (git.GitCommandNotFound, OSError) as exc:
        raise GitError(f"git could not be run in {root}: {exc}") from None
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    return data.decode("utf-8", "surrogateescape")


def rev(root: Path, ref: str) -> str:
    """The full commit sha `ref` names in the repository at `root`."""
    return run(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"
    ).strip()


def top_level(path: Path) -> Path | None:
    """The top of the work tree `path` is in, or None if it is in none."""
    try:
        return Path(run(path, "rev-parse", "--show-toplevel").strip()).resolve()
    except GitError:
        return None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    try:
        run(root, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitError:
        return False
    return True


def branch_exists(root: Path, branch: str) -> bool:
    try:
        run(root, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError:
        return False
    return True


def current_branch(root: Path) -> str | None:
    try:
        return run(root, "symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
    except GitError:
        return None


def untracked(root: Path, base: str) -> list[str]:
    """Untracked files of the worktree at `root` that the base commit's ignore rules do
    not ignore. An agent could otherwise hide a file by ignoring it (a new or edited
    .gitignore, .git/info/exclude, core.excludesFile): so only in-tree .gitignore files
    are read, and none at all once any of them is new or differs from `base`."""
    if ignore_rules_changed(root, base):
        listed = run(root, "ls-files", "-z", "--others")
    else:
        listed = run(root, "ls-files", "-z", "--others", "--exclude-per-directory=.gitignore")
    return [p for p in listed.split("\0") if p]


def ignore_rules_changed(root: Path, base: str) -> bool:
    """True if any .gitignore in the worktree is new or differs from the base commit's."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        if ".gitignore" not in filenames:
            continue
        rel = os.path.relpath(os.path.join(dirpath, ".gitignore"), root)
        try:
            in_base = run(root, "rev-parse", "--verify", "--quiet", f"{base}:{rel}").strip()
        except GitError:
            return True
        if run(root, "hash-object", "--no-filters", "--", rel).strip() != in_base:
            return True
    return False


def status_lines(root: Path) -> list[str]:
    """`git status --porcelain` of the worktree (untracked files listed one by one)."""
    out = run(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    return [line for line in out.split("\0") if line]
