"""Complete work packages to deliver (SPEC 11.3), with real git throughout: a target repo
with `main` checked out, a bare repository beside it as its `origin` (a local path), a WP
whose worktree commits a change that the gate admits and the owner accepts; and the
stand-in `gh` (tests/standins/gh/bin/gh), with its log."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.engine.trust.actions import Sign, person_signer
from cockpit.engine.trust.keys import init_runner_key
from helpers.gate import scoped_flow
from helpers.git import commit_all, git
from helpers.keys import make_key, public_line
from helpers.workspace import Env, edit_config

GH_BIN = Path(__file__).resolve().parents[1] / "standins" / "gh" / "bin"


@dataclass
class Target:
    """A complete WP-1 ready to deliver: its target repo, the bare remote, its worktree,
    the base commit and the verified head (the commit the gate admitted)."""

    env: Env
    repo: Path
    remote: Path
    worktree: Path
    base: str
    head: str

    def tip(self, branch: str = "main") -> str:
        return git(self.repo, "rev-parse", f"refs/heads/{branch}")

    def remote_tip(self, branch: str) -> str | None:
        out = git(self.remote, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
        return out or None

    def commit_on_main(self, path: str, text: str, message: str = "moved on") -> str:
        """Another commit on the target repo's checked-out main (the base moves on)."""
        (self.repo / path).parent.mkdir(parents=True, exist_ok=True)
        (self.repo / path).write_text(text)
        commit_all(self.repo, message)
        return self.tip()

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.env.events("WP-1") if e.type == kind]


def with_runner_key(env: Env, key_dir: Path) -> Path:
    """Give the workspace a runner key (outside it): checkpoints and attestations are
    signed. Returns the private key's path (its `.pub` is beside it)."""
    path = key_dir / "runner_ed25519"
    init_runner_key(path)
    text = (env.root / "cockpit.yaml").read_text()
    (env.root / "cockpit.yaml").write_text(
        text.replace("runner:\n", f"runner:\n  key: {path}\n", 1)
    )
    env.reload()
    return path


def owner_signer(env: Env, key_dir: Path) -> Sign:
    """Give human:owner a real ssh-keygen key (the policy stays `optional`) and return
    the signer a person at a terminal uses with it: deliveries are then signed actions
    that `cockpit audit verify` checks."""
    key = make_key(key_dir, "human_owner")
    text = (env.root / "cockpit.yaml").read_text()
    line = next(line for line in text.splitlines() if line.startswith("  human:owner:"))
    edit_config(env, (line, line.replace("{", '{keys: ["' + public_line(key) + '"], ', 1)))
    return person_signer(env.ws, "human:owner", key)


def set_delivery(env: Env, **settings: str) -> None:
    """Append a `delivery:` section to cockpit.yaml."""
    lines = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in settings.items())
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text() + "delivery:\n" + lines)
    env.reload()


def set_sandbox(env: Env, mode: str) -> None:
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text().replace("runner:\n", f"runner:\n  sandbox: {mode}\n", 1))
    env.reload()


def complete_wp(
    env: Env,
    tmp_path: Path,
    *,
    validation: list[str] | None = None,
    summary: str = "did the thing",
    change: str = "print('changed')\n",
    files: dict[str, str] | None = None,
) -> Target:
    """WP-1 on a fresh target repo: booked without a base_ref (so it is delivered to the
    repo's checked-out `main`), its worktree commits `change` to src/app.py (and `files`,
    path to text, under src/), the gate admits the claim (running `validation`), and
    human:owner accepts it: complete."""
    flow, worktree, base = scoped_flow(
        env,
        tmp_path,
        base_ref=None,
        validation_commands=validation or ["grep -q changed src/app.py"],
    )
    repo = tmp_path / "repo"
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    (worktree / "src/app.py").write_text(change)
    for path, text in (files or {}).items():
        (worktree / path).parent.mkdir(parents=True, exist_ok=True)
        (worktree / path).write_text(text)
    commit_all(worktree, "WP-1: change the app")
    flow.claim(summary=summary)
    assert flow.state() == "accepted", [e.type for e in env.events("WP-1")]
    accepted = env.cli("review", "WP-1", "--verdict", "accepted", "--as", "human:owner")
    assert accepted.code == 0, accepted.err
    assert flow.state() == "complete"
    [verdict] = [e for e in env.events("WP-1") if e.type == "verify_completed"][-1:]
    head = str(verdict.payload["head"])
    return Target(env, repo, remote, worktree, base, head)


def gh_on_path(monkeypatch: pytest.MonkeyPatch, log: Path, *, logged_in: bool = True) -> None:
    """Put the stand-in `gh` first on PATH, logging to `log`."""
    monkeypatch.setenv("PATH", f"{GH_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("GH_STANDIN_LOG", str(log))
    if logged_in:
        monkeypatch.delenv("GH_STANDIN_AUTH", raising=False)
    else:
        monkeypatch.setenv("GH_STANDIN_AUTH", "none")


def no_gh_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without any `gh` (the stand-in's directory left out)."""
    dirs = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and Path(d) != GH_BIN and not (Path(d) / "gh").exists()
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(dirs))
    assert shutil.which("gh") is None


def gh_log(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
