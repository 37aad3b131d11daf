"""The scratch workspace a simulation runs in (issue 16): the current workspace's policy
(tiers, the gate's `failed_on`, signatures, the runner's sandbox) with principals of its
own: an owner, K agents, an outsider (who files what the non-assignee and forging faults
file) and a verifier, each with a key made for the run; one lane, whose agents run on
their own (the simulator is them); and a target repository for the WPs that change code.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cockpit.domain import Tier
from cockpit.engine.config.model import CONFIG_FILE, Config
from cockpit.engine.trust import keys
from cockpit.engine.workspace.layout import Workspace

OWNER = "human:sim-owner"
VERIFIER = "agent:sim-verifier"
OUTSIDER = "agent:sim-outsider"
LANE = "sim"
REPO = "repo"
PROTECTED = "not for agents\n"  # protected/keep.txt as committed
# Dates git writes into commits: fixed, so the repository is the same in every run.
GIT_DATE = "2026-01-01T00:00:00Z"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "simulator",
    "GIT_AUTHOR_EMAIL": "simulator@cockpit.invalid",
    "GIT_COMMITTER_NAME": "simulator",
    "GIT_COMMITTER_EMAIL": "simulator@cockpit.invalid",
    "GIT_AUTHOR_DATE": GIT_DATE,
    "GIT_COMMITTER_DATE": GIT_DATE,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def agent(n: int) -> str:
    return f"agent:sim-{n}"


@dataclass
class World:
    """The scratch workspace and the keys its principals sign with."""

    ws: Workspace
    signers: dict[str, keys.HeldKey] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.ws.config.signatures_required


def _roles() -> dict[str, list[str]]:
    return {
        "owner": [
            *("book", "dispatch", "review", "verify", "override", "recover", "rollback"),
            *("cancel", "commission", "veto", "dismiss_advisory", "deliver"),
        ],
        "verifier": ["verify"],
        "worker": ["confirm_scope", "claim", "evidence", "recover", "candidate"],
    }


def config_document(
    source: Config, agents: list[str], public: dict[str, str], runner_key: Path, seed: int
) -> dict[str, Any]:
    """The scratch cockpit.yaml: `source`'s policy, the simulation's principals."""
    principals: dict[str, Any] = {OWNER: {"roles": ["owner"]}, VERIFIER: {"roles": ["verifier"]}}
    for name in [*agents, OUTSIDER]:
        principals[name] = {"roles": ["worker"], "lanes": [LANE]}
    for name, line in public.items():
        principals[name]["keys"] = [line]
    policy = source.policy.model_dump(mode="json", exclude_none=True)
    return {
        "schema": "cockpit.config/v1",
        "workspace": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cockpit-simulate:{seed}")),
        "tenant": source.tenant,
        "operator": OWNER,
        "principals": principals,
        "roles": _roles(),
        "lanes": {LANE: {"timeout_s": 600}},
        "tiers": {t.value: source.tiers[t].model_dump(mode="json") for t in Tier},
        "policy": policy,
        "runner": {
            "mode": "live",
            "verifier": VERIFIER,
            "key": str(runner_key),
            "sandbox": source.runner.sandbox,
        },
        "monitor": {"stall_after_s": 0},  # the simulated clock jumps: no stall is real
        # Simulated agents serve nothing: no host port is taken for them (SPEC 11.4).
        "worktrees": {"ports_per_wp": 0},
    }


def build(root: Path, source: Config, agent_count: int, seed: int) -> World:
    """Make the scratch workspace at `root` (an empty or missing directory)."""
    root.mkdir(parents=True, exist_ok=True)
    agents = [agent(n) for n in range(1, agent_count + 1)]
    signers = {name: keys.new_agent_key() for name in [OWNER, *agents, OUTSIDER]}
    public = {name: held.public.line() for name, held in signers.items()}
    runner_key = root.parent / f"{root.name}.runner_ed25519"
    keys.write_key(runner_key, keys.new_agent_key().private, "cockpit simulate runner")
    document = config_document(source, agents, public, runner_key, seed)
    (root / CONFIG_FILE).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    ws = Workspace.load(root)
    ws.ensure_dirs()
    _repository(root / REPO)
    return World(ws, signers, agents)


def _repository(repo: Path) -> None:
    """The target repository: a README and a protected file, one commit, fixed dates."""
    (repo / "protected").mkdir(parents=True)
    (repo / "README.md").write_text("The simulated project.\n", encoding="utf-8")
    (repo / "protected" / "keep.txt").write_text(PROTECTED, encoding="utf-8")
    env = {**os.environ, **GIT_ENV}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "the simulated project"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
