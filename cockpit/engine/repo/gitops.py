"""Git, hardened: every git command Cockpit runs goes through `run` (GitPython's `Git`).

Git runs inside trees that agents wrote, and an agent can write the shared repository
config from its worktree (`git config core.fsmonitor ...`). So no config may run anything
or hide paths: fsmonitor, hooks, external diff and textconv are switched off on the
command line, the system and global config are not read, and no `GIT_*` variable of the
runner's own environment leaks in. Replacement refs, grafts and commit-graph files are not
honoured, and submodules are never entered (their config is the agent's too).

In a WP's worktree, git runs with the worktree's git directory as recorded when it was
made (`Worktree`), never the one the worktree's `.git` file names now; and what changed is
measured with a scratch index built from the base commit (`content.changes`), so nothing
the agent set in its own index (assume-unchanged, skip-worktree, stat data) hides a change.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import Refused

# Without git on PATH, GitPython would fail at import; Cockpit reports it when git is used.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git

# Settings that override whatever the repository's own config says.
SAFETY = (
    "core.fsmonitor=",
    "core.hooksPath=/dev/null",
    "core.quotePath=false",
    "core.untrackedCache=false",
    "core.commitGraph=false",  # a forged commit-graph file would answer ancestry queries
    "core.excludesFile=",
    "diff.external=",
    "diff.ignoreSubmodules=dirty",
    "submodule.recurse=false",
    "status.submoduleSummary=false",
    "commit.gpgSign=false",
    "push.gpgSign=false",  # a signed push would run the repository config's gpg.program
    "protocol.ext.allow=never",  # an `ext::` remote URL runs a command
    "advice.detachedHead=false",
)
TIMEOUT_S = 120


class GitError(Refused):
    """A git command failed; the message is git's own last line of complaint."""


@dataclass(frozen=True)
class Worktree:
    """A WP's worktree: its files, and the git directory recorded when it was made."""

    path: Path
    git_dir: Path


Where = Path | Worktree


def _path(root: Where) -> Path:
    return root.path if isinstance(root, Worktree) else root


def _environment() -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_GRAFT_FILE=os.devnull,  # an agent's info/grafts would rewrite ancestry
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
    except (git.GitCommandError, git.GitCommandNotFound, OSError):
        return set()  # none defined (git exits 1); a missing git is reported by the command
    names = set()
    for key in str(listed).split("\0"):
        if key.count(".") >= 2:
            names.add(key.split(".", 1)[1].rsplit(".", 1)[0])
    return names


def run(
    root: Where, *args: str, extra_env: dict[str, str] | None = None, stdin: bytes | None = None
) -> str:
    """Run `git ARGS` in `root` with the safety settings (`stdin`: what git reads); return
    stdout (undecodable bytes kept as surrogate escapes, so odd file names survive; encode
    with `surrogateescape` for the bytes). Raises GitError."""
    path = _path(root)
    if not path.is_dir():  # GitPython would quietly run git in the current directory
        raise GitError(f"{path} is not a directory")
    runner = git.Git(str(path))
    env = _environment()
    if isinstance(root, Worktree):
        env.update(GIT_DIR=str(root.git_dir), GIT_WORK_TREE=str(root.path))
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
    feed = tempfile.TemporaryFile() if stdin is not None else None  # noqa: SIM115 (closed below)
    try:
        if feed is not None:
            feed.write(stdin or b"")
            feed.seek(0)
        raw = runner.execute(
            command,
            istream=feed,
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
        raise GitError(f"git could not be run in {path}: {exc}") from None
    finally:
        if feed is not None:
            feed.close()
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    return data.decode("utf-8", "surrogateescape")


def rev(root: Where, ref: str) -> str:
    """The full commit sha `ref` names in the repository at `root`."""
    return run(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"
    ).strip()


def tree_of(root: Where, commit: str) -> str:
    """The tree object of `commit`."""
    return run(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}^{{tree}}"
    ).strip()


def top_level(path: Path) -> Path | None:
    """The top of the work tree `path` is in, or None if it is in none."""
    try:
        return Path(run(path, "rev-parse", "--show-toplevel").strip()).resolve()
    except GitError:
        return None


def is_ancestor(root: Where, ancestor: str, descendant: str) -> bool:
    try:
        run(root, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitError:
        return False
    return True


def branch_exists(root: Where, branch: str) -> bool:
    try:
        run(root, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError:
        return False
    return True


def current_branch(root: Where) -> str | None:
    try:
        return run(root, "symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
    except GitError:
        return None


def untracked(root: Where, base: str, env: dict[str, str] | None = None) -> list[str]:
    """Untracked files of the worktree at `root` that the base commit's ignore rules do
    not ignore. An agent could otherwise hide a file by ignoring it (a new or edited
    .gitignore, .git/info/exclude, core.excludesFile): so only in-tree .gitignore files
    are read, and none at all once any of them is new or differs from `base`."""
    if ignore_rules_changed(root, base):
        listed = run(root, "ls-files", "-z", "--others", extra_env=env)
    else:
        listed = run(
            root, "ls-files", "-z", "--others", "--exclude-per-directory=.gitignore", extra_env=env
        )
    return [p for p in listed.split("\0") if p]


def ignore_rules_changed(root: Where, base: str) -> bool:
    """True if any .gitignore in the worktree is new or differs from the base commit's."""
    top = _path(root)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        if ".gitignore" not in filenames:
            continue
        rel = os.path.relpath(os.path.join(dirpath, ".gitignore"), top)
        try:
            in_base = run(root, "rev-parse", "--verify", "--quiet", f"{base}:{rel}").strip()
        except GitError:
            return True
        if run(root, "hash-object", "--no-filters", "--", rel).strip() != in_base:
            return True
    return False


def status_lines(root: Where) -> list[str]:
    """`git status --porcelain` of the worktree (untracked files listed one by one)."""
    out = run(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    return [line for line in out.split("\0") if line]


@dataclass(frozen=True)
class Changes:
    """What differs between a base commit and a working tree: the paths, and the tree
    object holding the working tree's content (what a gate run saw; kept by a rollback)."""

    paths: list[str]
    tree: str


def replace_refs(root: Where) -> dict[str, str]:
    """The repository's replacement refs (`refs/replace/*`), name to object. Cockpit never
    honours them, but the owner's own git does: an agent that plants one in the shared
    repository makes `git log`, `git merge` and checkouts there show other content."""
    out = run(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/replace/")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


# What in a repository's git directory makes the owner's own git run programs or see other
# history: config (fsmonitor, aliases, pager, filters), hooks, info/attributes (which name
# filter and merge drivers), grafts and the object store's alternates.
GIT_DIR_WATCHED = (
    "config",
    "hooks",
    "info/attributes",
    "info/grafts",
    "objects/info/alternates",
    "objects/info/grafts",
)


# Config settings that run nothing and change no content git shows: an owner adding a
# remote or an agent setting its identity must not fail every WP in flight.
_HARMLESS_SECTIONS = frozenset(
    {
        "user", "author", "committer", "branch", "maintenance", "gc", "color", "advice",
        "pull", "push", "fetch", "init", "gui", "i18n", "log", "format", "column", "status",
        "rerere", "blame", "help",
    }
)  # fmt: skip
_HARMLESS_REMOTE_KEYS = frozenset({"url", "pushurl", "fetch", "push", "tagopt", "prune", "mirror"})


def _config_digest(root: Where, path: Path) -> str:
    """A sha256 of the settings in the config file at `path` that could make git run a
    program or show other content (everything but _HARMLESS_SECTIONS and remotes' URLs
    and refspecs). Reading config runs nothing; include directives are listed, not
    followed."""
    listed = run(root, "config", "--file", str(path), "--no-includes", "--list", "-z")
    kept = []
    for item in listed.split("\0"):
        key = item.split("\n", 1)[0].lower()
        section, _, rest = key.partition(".")
        if not item or section in _HARMLESS_SECTIONS:
            continue
        if section == "remote" and rest.rsplit(".", 1)[-1] in _HARMLESS_REMOTE_KEYS:
            continue
        kept.append(item)
    return "settings:" + hashlib.sha256("\0".join(sorted(kept)).encode()).hexdigest()


def git_dir_fingerprint(root: Where) -> dict[str, str]:
    """A sha256 (or `symlink:<target>`) of every file under GIT_DIR_WATCHED in the shared
    git directory of the repository at `root`, by path relative to it; for `config`, of
    the settings in it that matter (see _config_digest)."""
    common = Path(run(root, "rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    found: dict[str, str] = {}

    def add(path: Path) -> None:
        rel = path.relative_to(common).as_posix()
        if path.is_symlink():
            found[rel] = f"symlink:{os.readlink(path)}"
        elif rel == "config" and path.is_file():
            found[rel] = _config_digest(root, path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()

    for name in GIT_DIR_WATCHED:
        top = common / name
        if top.is_dir() and not top.is_symlink():
            for dirpath, dirnames, filenames in os.walk(top):
                here = Path(dirpath)
                links = [d for d in dirnames if (here / d).is_symlink()]  # not walked
                for entry in sorted(filenames) + links:
                    add(here / entry)
        else:
            add(top)
    return found


def fingerprint_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The paths added, removed or changed between two git_dir_fingerprint results."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def nested_repositories(root: Where, base: str) -> list[str]:
    """Directories inside the working tree that hold their own repository (a `.git`
    entry) and are not submodules of `base`. Git records them as bare commit pointers:
    their files and history live only in their own `.git`, so neither a diff nor a commit
    of the tree keeps them, and `git clean -ffdx` deletes them."""
    top = _path(root)
    listed = run(root, "ls-tree", "-r", "-z", base)
    gitlinks = {
        entry.split("\t", 1)[1]
        for entry in listed.split("\0")
        if entry.startswith("160000 ") and "\t" in entry
    }
    found = []

    def unreadable(error: OSError) -> None:
        raise GitError(f"{error.filename} cannot be read: {error.strerror}")

    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable):
        rel = os.path.relpath(dirpath, top)
        if rel != "." and (".git" in dirnames or ".git" in filenames):
            if rel.replace(os.sep, "/") not in gitlinks:
                found.append(rel.replace(os.sep, "/"))
            dirnames[:] = []  # its contents are its own repository's
            continue
        dirnames[:] = [d for d in dirnames if not (rel == "." and d == ".git")]
    return sorted(found)


def committed(root: Where, base: str, *heads: str) -> list[str]:
    """Every path the commits at `heads` change from `base`: the net diff of each head, and
    what every commit since `base` changes from each of its parents (a head that names no
    commit is skipped). What the working tree shows can differ from what is committed and
    would be merged: an agent can commit a change and undo it on disk only, or commit its
    tree on top of a later commit of the target branch, so that a merge reverts that
    commit's changes while the net diff from `base` shows none."""
    paths: set[str] = set()
    for head in heads:
        try:
            commit = rev(root, head)
        except GitError:
            continue
        out = run(root, "diff-tree", "-r", "--no-renames", "--name-only", "-z", base, commit)
        paths.update(p for p in out.split("\0") if p)
        out = run(
            root,
            "log",
            "-m",
            "--no-renames",
            "--name-only",
            "--format=",
            "-z",
            "--end-of-options",
            f"{base}..{commit}",
        )
        paths.update(p.strip("\n") for p in out.split("\0") if p.strip("\n"))
    return sorted(paths)
