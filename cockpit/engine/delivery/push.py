"""Delivery by push and by pull request (SPEC 11.3).

`push` puts the verified head on the remote's `wp/<WP>`, never with force: a remote branch
holding other history is refused before anything is pushed (and git would refuse a
non-fast-forward push anyway). `pr` first checks that the GitHub CLI is there and logged
in (`gh auth status`), pushes, then runs `gh pr create --base --head --title
--body-file`, which uses the owner's own `gh` login.

Git runs hardened (cockpit.engine.repo.gitops); a push also reads the owner's global git
configuration (a credential helper, an ssh command), never the system's, and the
hardening settings win over it. `gh` runs with the same hardening: no `GIT_*` variable of
Cockpit's own environment, `GIT_DIR` and `GIT_WORK_TREE` pinned to the target repo, no
system git configuration, no prompt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.delivery.plan import Plan, local_config_keys
from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.text import literal
from cockpit.errors import Refused

GH_TIMEOUT_S = 120


@dataclass(frozen=True)
class Pushed:
    """Where the verified head now is on the remote, and whether it had to be pushed."""

    remote: str
    remote_ref: str
    pushed: bool


def _owner_config() -> dict[str, str]:
    """The owner's global git configuration for a push (credentials live there)."""
    configured = os.environ.get("GIT_CONFIG_GLOBAL")
    path = Path(configured) if configured else Path.home() / ".gitconfig"
    return {"GIT_CONFIG_GLOBAL": str(path)} if path.is_file() else {}


# Repository config that makes a push (or gh's git) run a program or go elsewhere: the
# target repo's own config is writable from an agent's worktree, so a push is refused
# while it sets any of these (the owner's global config may; SPEC 10.3).
_RISKY = re.compile(
    r"^(core\.(sshcommand|gitproxy|askpass)|credential\..*|url\..*\.(insteadof|pushinsteadof)"
    r"|remote\..*\.(receivepack|uploadpack|vcs|proxy)|protocol\.(.*\.)?allow|gpg\.(.*\.)?program"
    r"|push\.gpgsign|http\..*(proxy|sslverify|sslcainfo|sslcapath|cookiefile|extraheader)"
    r"|include\..*|includeif\..*)$"
)


def check_repo_config(planned: Plan) -> None:
    """Refuse before anything is pushed when the target repo's own config (its
    `.git/config`, a worktree config, or what they include) sets something a push would
    run or be redirected by. Raises Refused naming the first such setting."""
    for key in local_config_keys(planned.repo):
        if _RISKY.match(key.lower()):
            raise Refused(
                f"{planned.repo}'s own git config sets {literal(key)}, which a push would run "
                "or be redirected by, so nothing was pushed: remove it from the repository's "
                "config (your global ~/.gitconfig may set it), then deliver again"
            )


def remote_tips(planned: Plan, *refs: str) -> dict[str, str]:
    """The commits the remote's `refs` are at (a ref it does not have is left out)."""
    assert planned.remote is not None
    try:
        out = gitops.run(
            planned.repo,
            "ls-remote",
            "--end-of-options",
            planned.remote,
            *refs,
            extra_env=_owner_config(),
        )
    except GitError as exc:
        raise Refused(f"the remote {planned.remote!r} cannot be read: {exc}") from None
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.strip() in refs:
            found[ref.strip()] = sha.strip()
    return found


def remote_tip(planned: Plan) -> str | None:
    """The commit the remote's `wp/<WP>` is at, or None when it has no such branch."""
    assert planned.remote_ref is not None
    return remote_tips(planned, planned.remote_ref).get(planned.remote_ref)


def check_remote_branch(planned: Plan, *, for_pr: bool = False) -> str | None:
    """Refuse when the remote's `wp/<WP>` holds history the verified head does not (it is
    never forced), or, `for_pr`, when the remote has no branch `planned.base` for the pull
    request to go into; returns the commit of its `wp/<WP>` (None: no such branch)."""
    assert planned.remote_ref is not None
    base_ref = f"refs/heads/{planned.base}"
    tips = remote_tips(planned, planned.remote_ref, *([base_ref] if for_pr else []))
    if for_pr and base_ref not in tips:
        raise Refused(
            f"{planned.remote} has no branch {planned.base} for the pull request to go into, "
            "so nothing was pushed: push it, or name the pull request's base in delivery.base"
        )
    theirs = tips.get(planned.remote_ref)
    if theirs is None or theirs == planned.head:
        return theirs
    if not gitops.is_ancestor(planned.repo, theirs, planned.head):
        branch = planned.remote_ref.removeprefix("refs/heads/") if planned.remote_ref else ""
        raise Refused(
            f"{planned.remote} already has {branch} at {theirs[:12]}, which the verified head "
            f"{planned.head[:12]} does not contain; it is never force-pushed, so nothing was "
            f"pushed: rename or delete that branch on {planned.remote}, then deliver again"
        )
    return theirs


def push(planned: Plan, theirs: str | None) -> Pushed:
    """Push the verified head to the remote's `wp/<WP>`, which `check_remote_branch` found
    at `theirs` (a fast-forward or a new branch; nothing when it is there already). Git
    refuses it if the branch moved meanwhile to history the head does not contain: it is
    never forced. Raises Refused."""
    assert planned.remote is not None and planned.remote_ref is not None
    if theirs == planned.head:
        return Pushed(planned.remote, planned.remote_ref, False)
    try:
        gitops.run(
            planned.repo,
            "push",
            "--porcelain",
            "--no-verify",
            "--end-of-options",
            planned.remote,
            f"{planned.head}:{planned.remote_ref}",
            extra_env=_owner_config(),
        )
    except GitError as exc:
        raise Refused(
            f"git did not push {planned.head[:12]} to {planned.remote}: {exc}, so nothing "
            "was pushed"
        ) from None
    return Pushed(planned.remote, planned.remote_ref, True)


def gh_environment(repo: Path) -> dict[str, str]:
    """The environment `gh` runs in: Cockpit's own, less every `GIT_*` variable, with git
    pinned to the target repo and hardened as Cockpit's own git is (SPEC 10.3): the
    safety settings reach gh's own git calls as `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`,
    which git reads as `-c` settings."""
    git_dir = gitops.run(repo, "rev-parse", "--absolute-git-dir").strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    settings = [setting.split("=", 1) for setting in gitops.SAFETY]
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    for n, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    env.update(
        GIT_DIR=git_dir,
        GIT_WORK_TREE=str(repo),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_GRAFT_FILE=os.devnull,
        GH_PROMPT_DISABLED="1",
        GH_NO_UPDATE_NOTIFIER="1",
        GH_SPINNER_DISABLED="1",
        NO_COLOR="1",
    )
    return env


def _gh(gh: str, args: list[str], repo: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [gh, *args],
            cwd=repo,
            env=gh_environment(repo),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GH_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Refused(f"`gh {args[0]} {args[1]}` did not answer within {GH_TIMEOUT_S} s") from None
    except OSError as exc:
        raise Refused(f"the GitHub CLI could not be run ({exc})") from None


def _said(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stderr or done.stdout or "").splitlines()]
    lines = [line for line in lines if line]
    return literal(lines[0] if lines else f"exit {done.returncode}")


def gh_ready(repo: Path) -> str:
    """The `gh` to open the pull request with, once it is known to be installed and
    logged in. Raises Refused (nothing is pushed before this)."""
    gh = shutil.which("gh")
    if gh is None:
        raise Refused(
            "the GitHub CLI (gh) is not installed or not on PATH, so nothing was pushed: "
            "install it and log in with `gh auth login`, or deliver with --via push"
        )
    done = _gh(gh, ["auth", "status"], repo)
    if done.returncode != 0:
        raise Refused(
            f"the GitHub CLI is not logged in (gh auth status: {_said(done)}), so nothing "
            "was pushed: log in with `gh auth login`, then deliver again"
        )
    return gh


_GITHUB_URL = re.compile(
    r"^(?:https://(?:[^@/]+@)?|ssh://(?:[^@/]+@)?|[^@/:]+@)([^/:]*github[^/:]*)(?::\d+)?[:/]"
    r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


def github_repo(planned: Plan) -> list[str]:
    """`--repo HOST/OWNER/REPO` when the remote is a GitHub repository (gh then needs
    nothing from the remotes), else nothing (gh works it out from the remotes)."""
    assert planned.remote is not None
    try:
        url = gitops.run(planned.repo, "remote", "get-url", "--end-of-options", planned.remote)
    except GitError:
        return []
    found = _GITHUB_URL.match(url.strip())
    return ["--repo", "/".join(found.groups())] if found else []


def pull_request_head(gh: str, planned: Plan, url: str) -> str | None:
    """The head commit of the pull request at `url` as GitHub has it (`gh pr view URL
    --json headRefOid`), or None when gh cannot tell."""
    done = _gh(gh, ["pr", "view", url, "--json", "headRefOid"], planned.repo)
    if done.returncode != 0:
        return None
    try:
        found = json.loads(done.stdout)
    except ValueError:
        return None
    oid = found.get("headRefOid") if isinstance(found, dict) else None
    return str(oid) if isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{40,64}", oid) else None


def open_pull_request(gh: str, planned: Plan, title: str, body: str) -> str:
    """`gh pr create` for the pushed branch; returns the pull request's URL. Raises
    Refused with gh's own reason."""
    assert planned.remote_ref is not None
    head = planned.remote_ref.removeprefix("refs/heads/")
    with tempfile.TemporaryDirectory(prefix="cockpit-pr-") as scratch:
        body_file = Path(scratch) / "body.md"
        body_file.write_text(body, encoding="utf-8")
        args = ["pr", "create", "--base", planned.base, "--head", head, "--title", title]
        args += github_repo(planned)
        done = _gh(gh, [*args, "--body-file", str(body_file)], planned.repo)
    urls = [
        line.strip() for line in done.stdout.splitlines() if line.strip().startswith("https://")
    ]
    if done.returncode != 0 or not urls:
        raise Refused(
            f"gh pr create failed ({_said(done)}); {head} was pushed to {planned.remote}: "
            "deliver again with --via pr to open the pull request"
        )
    return urls[-1]
