"""The agent's CLI home (SPEC 10.3) and the session digest, against an agent that writes
its own home between runs: the owner's credentials are copied once, read-only, and never
through a link the agent planted; a session store reached through a link is not trusted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch
from helpers.drivers import calls, set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env

from cockpit.engine.drivers import home, sessions
from cockpit.engine.drivers.registry import DRIVERS

pytestmark = pytest.mark.usefixtures("no_ambient_principal")
CLAUDE = DRIVERS["claude-code"]


def owner_home(tmp_path: Path) -> Path:
    owner = tmp_path / "owner"
    (owner / ".claude").mkdir(parents=True)
    (owner / ".claude" / ".credentials.json").write_text('{"token": "owner-secret"}')
    (owner / ".claude" / "settings.json").write_text("{}")
    (owner / ".claude" / "projects").mkdir()
    (owner / ".claude" / "projects" / "owner-session.jsonl").write_text("owner's own session")
    return owner


def test_the_owners_credentials_are_copied_once_read_only_and_nothing_else(
    tmp_path: Path,
) -> None:
    owner = owner_home(tmp_path)
    agent = tmp_path / "agent-home" / "WP-1"
    bound = home.prepare_home(agent, CLAUDE, owner)
    # The owner's credentials and settings, and (made empty) the CLI's other settings,
    # hooks and memory: all read-only in the sandbox.
    assert {p.relative_to(agent).as_posix() for p in bound} == {
        ".claude/.credentials.json",
        ".claude/settings.json",
        ".claude/CLAUDE.md",
        ".claude/commands",
        ".claude/agents",
        ".claude/hooks",
    }
    assert (agent / ".claude" / "CLAUDE.md").read_text() == ""  # the owner has none
    copied = agent / ".claude" / ".credentials.json"
    assert copied.read_text() == '{"token": "owner-secret"}'
    assert stat.S_IMODE(copied.stat().st_mode) == 0o400
    assert not (agent / ".claude" / "projects").exists()  # the owner's sessions stay theirs
    (owner / ".claude" / ".credentials.json").write_text('{"token": "rotated"}')
    home.prepare_home(agent, CLAUDE, owner)  # the copy is made when the WP first starts
    assert copied.read_text() == '{"token": "owner-secret"}'


def test_a_link_the_agent_planted_in_its_home_is_never_followed(tmp_path: Path) -> None:
    owner = owner_home(tmp_path)
    victim = tmp_path / "target-repo"
    victim.mkdir()
    agent = tmp_path / "agent-home" / "WP-1"
    agent.mkdir(parents=True)
    os.symlink(victim, agent / ".claude")  # planted by the agent in an earlier run
    bound = home.prepare_home(agent, CLAUDE, owner)
    assert bound == []
    assert list(victim.iterdir()) == []  # nothing written through the link
    digest = sessions.session_digest(agent, CLAUDE)
    (victim / "projects").mkdir()
    (victim / "projects" / "x.jsonl").write_text("changed")
    assert sessions.session_digest(agent, CLAUDE) == digest  # the link is not walked


def test_a_driver_run_gets_its_credentials_its_own_home_and_no_other_secret(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = owner_home(tmp_path)
    monkeypatch.setenv("HOME", str(owner))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")  # the CLI's own credential
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-for-agents")  # anything else secret
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt")
    repo, _ = new_repo(tmp_path)
    drop_booking(env, repo, validation_commands=["grep -q stand-in src/standin.txt"])
    drop_dispatch(env)
    env.sweep()
    agent = env.root / ".cockpit" / "agent-home" / "WP-1"
    [first, *_] = calls(env)
    assert first["home"] == str(agent)
    assert (agent / ".claude" / ".credentials.json").read_text() == '{"token": "owner-secret"}'
    # The stand-in kept its session in the agent's home, never in the owner's.
    assert list((agent / ".claude" / "projects").rglob("*.jsonl"))
    assert [p.name for p in (owner / ".claude" / "projects").iterdir()] == ["owner-session.jsonl"]
    assert "ANTHROPIC_API_KEY" in first["env"]
    assert "GITHUB_TOKEN" not in first["env"] and "SSH_AUTH_SOCK" not in first["env"]
    assert "COCKPIT_SIGNING_KEY" not in first["env"]  # the driver signs; the CLI holds no key
