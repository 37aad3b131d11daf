"""A lane's driver keys (SPEC 9.1): what each accepts, and one clear sentence (exit 2)
for what it cannot keep, on a real workspace through the CLI."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

LANE = "    timeout_s: 600\n"


def with_lane(env: Env, lines: str) -> tuple[int, str]:
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(LANE) == 1
    path.write_text(text.replace(LANE, LANE + lines), encoding="utf-8")
    result = env.cli("status", "--json")
    return result.code, result.err.strip()


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ("    driver: claud\n", "lanes.implementation.driver: 'claud' is not allowed; use"),
        ("    driver: codex\n    budget_usd: 5\n", "codex CLI does not report what a run costs"),
        ("    driver: gemini\n    max_turns: 5\n", "gemini CLI takes no turn limit"),
        ("    model: opus\n", "model: only for a lane with an agent CLI driver"),
        ("    driver: command\n", "command: required with driver: command"),
        ("    driver: claude-code\n    budget_usd: -1\n", "budget_usd"),
    ],
)
def test_a_lane_key_a_driver_cannot_keep_is_one_sentence(env: Env, lines: str, says: str) -> None:
    code, err = with_lane(env, lines)
    assert code == 2
    assert says in err and len(err.splitlines()) == 1, err


def test_a_claude_lane_takes_its_limits_and_keeps_the_budget_exact(env: Env) -> None:
    code, err = with_lane(
        env, "    driver: claude-code\n    model: opus\n    max_turns: 40\n    budget_usd: 5.10\n"
    )
    assert code == 0, err
    lane = env.reload().config.lanes["implementation"]
    assert lane.budget_usd == Decimal("5.1")  # YAML's float 5.10, kept exact (not 5.0999…)
    assert lane.max_turns == 40 and lane.starts_agents
