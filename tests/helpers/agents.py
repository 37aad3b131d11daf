"""Test agents and the bookings they work on: the script prelude every test agent starts
with (entries built and returned through `cockpit submit`), the lane that runs them, and
readers of a work package's state, events and worktree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.gate import OWNER, yaml_body
from helpers.workspace import Env, entry, t

OWNER_HUMAN = "human:owner"

# The start of every test agent script: imports, and entries written and submitted
# through `cockpit submit` as a real agent would (exit 9 if submit refuses them).
AGENT_PRELUDE = """\
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_text(handoff, kind, entry_id, created, body):
    document = {
        "schema": "cockpit.entry/v1",
        "kind": kind,
        "id": entry_id,
        "work_package": handoff["work_package"]["id"],
        "principal": handoff["you"],
        "tenant": handoff["tenant"],
        "created": stamp(created),
        "body": body,
    }
    if handoff.get("workspace"):  # named by every entry under signatures: required
        document["workspace"] = handoff["workspace"]
    return yaml.safe_dump(document, sort_keys=False)


def submit(texts):
    with tempfile.TemporaryDirectory(prefix="test-agent-") as scratch:
        files = []
        for number, text in enumerate(texts):
            path = Path(scratch) / f"{number}.yaml"
            path.write_text(text)
            files.append(str(path))
        done = subprocess.run(
            [sys.executable, "-m", "cockpit", "submit", *files], capture_output=True, text=True
        )
    print(done.stdout, done.stderr, flush=True)
    if done.returncode != 0:
        sys.exit(9)

"""


def set_lane(
    env: Env,
    command: list[str] | None,
    *,
    timeout_s: int = 60,
    standing_go: bool = False,
    sandbox_rw: list[str] | None = None,
) -> None:
    """Give lane `implementation` a command (and timeout, standing go, paths its sandbox
    may write besides its own); reload."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    timeout_s: 600\n"
    assert text.count(old) == 1
    new = ""
    if command is not None:
        new += f"    command: {json.dumps(command)}\n"
    new += f"    timeout_s: {timeout_s}\n"
    if standing_go:
        new += "    standing_go: true\n"
    if sandbox_rw:
        new += f"    sandbox_rw: {json.dumps(sandbox_rw)}\n"
    path.write_text(text.replace(old, new), encoding="utf-8")
    env.reload()


def set_runner(env: Env, **settings: Any) -> None:
    """Set keys of cockpit.yaml's `runner:` section (sandbox, sandbox_network, key,
    outbox_max, ...); reload."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    old = "runner:\n"
    assert text.count(old) == 1
    lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items())
    path.write_text(text.replace(old, old + lines), encoding="utf-8")
    env.reload()


def wp_fields(repo: Path | None, **body: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": "Change the app",
        "objective": "change the app",
        "success_criteria": ["it works"],
        "owner": OWNER,
        "accountable": OWNER_HUMAN,
        "tier": "standard",
        "lane": "implementation",
        "owned_surfaces": ["src/**"],
        "forbidden_surfaces": ["secrets/**"],
    }
    if repo is not None:
        fields["target_repo"] = str(repo)
    fields.update(body)
    return fields


def drop_booking(env: Env, repo: Path | None, wp: str = "WP-1", **body: Any) -> None:
    env.drop(
        f"{wp}-a.yaml",
        entry(
            "work_package", wp, wp, OWNER_HUMAN, yaml_body(wp_fields(repo, **body)), created=t(0)
        ),
    )


def drop_dispatch(env: Env, wp: str = "WP-1", minute: int = 1) -> None:
    env.drop(
        f"{wp}-dispatch-{minute}.yaml",
        entry("dispatch", f"DSP-{wp}-{minute}", wp, OWNER_HUMAN, f"to: {OWNER}", created=t(minute)),
    )


def worktree_of(env: Env, wp: str = "WP-1") -> Path:
    return env.root / "worktrees" / wp


def events_of(env: Env, kind: str, wp: str = "WP-1") -> list[Any]:
    return [e for e in env.events(wp) if e.type == kind]


def state(env: Env, wp: str = "WP-1") -> str:
    row = env.wp(wp)
    assert row is not None
    return str(row["state"])


def detail(env: Env, wp: str = "WP-1") -> dict[str, Any]:
    result = env.cli("status", wp, "--json")
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document
