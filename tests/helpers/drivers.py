"""Lanes driven by an agent CLI's stand-in (tests/standins/bin: executables that accept
the real CLI's flags and print its documented output; see tests/standins/README.md), and
readers of what the stand-in recorded about how it was called."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.agents import OWNER_HUMAN
from helpers.gate import OWNER, yaml_body
from helpers.workspace import Env, entry, t

STANDINS = Path(__file__).resolve().parents[1] / "standins" / "bin"
BINARY = {"claude-code": "claude", "codex": "codex", "gemini": "gemini", "aider": "aider"}
DRIVERS = tuple(BINARY)
RESUMING = ("claude-code", "codex", "gemini")  # aider has no session id to resume


def set_driver_lane(
    env: Env,
    driver: str,
    *standin: str,
    timeout_s: int = 60,
    standing_go: bool = True,
    command: list[str] | None = None,
    **keys: Any,
) -> None:
    """Lane `implementation` runs `driver` with its stand-in (`standin`: the steering
    flags, passed as the lane's `args`); `keys`: more lane keys (budget_usd, model...)."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    timeout_s: 600\n"
    assert text.count(old) == 1
    program = command if command is not None else [str(STANDINS / BINARY[driver])]
    new = f"    driver: {driver}\n    timeout_s: {timeout_s}\n"
    if program:
        new += f"    command: {json.dumps(program)}\n"
    if standin:
        new += f"    args: {json.dumps(list(standin))}\n"
    if standing_go:
        new += "    standing_go: true\n"
    for key, value in keys.items():
        new += f"    {key}: {json.dumps(value)}\n"
    path.write_text(text.replace(old, new), encoding="utf-8")
    env.reload()


def calls(env: Env, wp: str = "WP-1") -> list[dict[str, Any]]:
    """How the stand-in was called, one item per run (it writes $HOME/.standin/argv.jsonl,
    and HOME is the WP's agent home)."""
    log = env.root / ".cockpit" / "agent-home" / wp / ".standin" / "argv.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def prompt_of(driver: str, argv: list[str]) -> str:
    """The prompt a driver passed: where each CLI takes it."""
    if driver == "gemini":
        return argv[argv.index("--prompt") + 1]
    if driver == "aider":
        return argv[argv.index("--message") + 1]
    return argv[-1]


def resumed_id(driver: str, argv: list[str]) -> str | None:
    if driver == "codex":
        return argv[argv.index("resume") + 1] if "resume" in argv else None
    return argv[argv.index("--resume") + 1] if "--resume" in argv else None


def drop_recovery(env: Env, minute: int, next_action: str = "meet the evidence floor") -> None:
    """The owner sends the WP back to its agent (the recovery's owner)."""
    fields = {
        "error_class": "gate_blocked",
        "failure_signal": "verify_completed blocked",
        "retry_count": 1,
        "fallback_used": False,
        "next_action": next_action,
        "recovery_owner": OWNER,
    }
    env.drop(
        f"rcv-{minute}.yaml",
        entry(
            "recovery", f"RCV-{minute}", "WP-1", OWNER_HUMAN, yaml_body(fields), created=t(minute)
        ),
    )


def drop_scope_confirmed(env: Env, minute: int = 2) -> None:
    """The agent's own scope confirmation, dropped by hand (the test starts at work)."""
    env.drop(
        "scope.yaml",
        entry(
            "scope_confirmation", "SCP-hand", "WP-1", OWNER, "confirmed: true", created=t(minute)
        ),
    )
