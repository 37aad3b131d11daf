"""Worktree housekeeping in tests (SPEC 11.4): `worktrees:` in cockpit.yaml, a target
repo with a setup script, a bare "remote" beside it, the owner's real key, and a stand-in
agent that records what the runner gave it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from helpers.agents import set_lane
from helpers.git import commit_all, git
from helpers.keys import make_key, public_line
from helpers.workspace import Env, edit_config

# A setup script that writes nothing: the worktree is read-only to it (SPEC 10.3); what
# it printed is recorded on `agent_started.payload.setup`.
SETUP_SCRIPT = 'echo "setup ran in $(pwd) with ports $COCKPIT_PORTS"\n'

# A stand-in for an agent CLI: it records, one JSON line a start, what SPEC 9 and 11.4 say
# an agent gets (its environment, its handoff, its worktree's files) and exits without
# filing anything. It runs in the agent's sandbox; the record file is the one path
# outside its own that its lane lets it write (sandbox_rw).
PROBE = """\
import json
import os
import sys
from pathlib import Path

import yaml

handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())


def text(name):
    path = Path(name)
    return path.read_text() if path.is_file() else None


line = {
    "wp": os.environ["COCKPIT_WORK_PACKAGE"],
    "port": os.environ.get("COCKPIT_PORT"),
    "ports": os.environ.get("COCKPIT_PORTS"),
    "handoff_ports": handoff.get("ports"),
    "env_file": text(".env"),
    "cwd": os.getcwd(),
}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(line) + "\\n")
"""


def configure(env: Env, **settings: Any) -> None:
    """Write `worktrees:` (the given keys; `copy` spelt `copy`) into cockpit.yaml; reload."""
    path = env.root / "cockpit.yaml"
    lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items())
    path.write_text(path.read_text(encoding="utf-8") + "worktrees:\n" + lines, encoding="utf-8")
    env.reload()


def give_owner_a_key(env: Env, directory: Path) -> Path:
    """A real ssh-keygen key for human:owner (signatures stay optional); its path."""
    key = make_key(directory, "human_owner")
    text = (env.root / "cockpit.yaml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("  human:owner:"))
    edit_config(env, (line, line.replace("{", '{keys: ["' + public_line(key) + '"], ', 1)))
    return key


def install_probe(env: Env, record: Path, *, timeout_s: int = 60) -> None:
    """The stand-in agent as lane `implementation`'s command."""
    (env.root / "agents").mkdir(exist_ok=True)
    (env.root / "agents" / "probe.py").write_text(PROBE, encoding="utf-8")
    record.touch()
    set_lane(
        env,
        ["python3", "agents/probe.py", str(record)],
        timeout_s=timeout_s,
        sandbox_rw=[str(record)],
    )


def runs(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def add_setup_script(repo: Path, text: str = SETUP_SCRIPT) -> str:
    """Commit scripts/setup.sh with `text` on the repo's branch; its sha256."""
    (repo / "scripts").mkdir(exist_ok=True)
    (repo / "scripts" / "setup.sh").write_text(text)
    commit_all(repo, "the setup script")
    return hashlib.sha256(text.encode()).hexdigest()


def bare_remote(repo: Path, where: Path) -> Path:
    """A bare clone of `repo` at `where`, made its `origin`, with `main` tracking it."""
    git(repo.parent, "clone", "-q", "--bare", str(repo), str(where))
    git(repo, "remote", "add", "origin", str(where))
    git(repo, "fetch", "-q", "origin")
    git(repo, "branch", "-q", "--set-upstream-to=origin/main", "main")
    return where


def push_a_commit(remote: Path, scratch: Path, name: str = "remote.txt") -> str:
    """A commit made elsewhere and pushed to `remote`'s main; its sha."""
    git(remote.parent, "clone", "-q", str(remote), str(scratch))
    git(scratch, "config", "user.name", "Someone Else")
    git(scratch, "config", "user.email", "else@example.invalid")
    (scratch / name).write_text("from the remote\n")
    commit_all(scratch, "upstream work")
    git(scratch, "push", "-q", "origin", "HEAD:main")
    return git(scratch, "rev-parse", "HEAD")
