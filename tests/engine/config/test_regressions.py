"""Regression tests of cockpit.yaml: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.gate import Flow, stopped_on
from helpers.workspace import Env, edit_config

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 17: config -----------------------------------------------------------------------------------

DEEP_TIER = (
    "  deep:     {evidence_floor: runtime_proof, require_diagnostic_review: true, "
    "require_rollback_plan: true}\n"
)


def test_a_partial_tier_entry_keeps_the_tiers_defaults(env: Env) -> None:
    """config.Config._tier_defaults: `deep: {evidence_floor: runtime_proof}` does not drop
    deep's diagnostic review."""
    edit_config(env, (DEEP_TIER, "  deep: {evidence_floor: runtime_proof}\n"))
    assert env.ws.config.tiers["deep"].require_diagnostic_review is True  # type: ignore[index]
    flow = Flow(env)
    flow.book(tier="deep", validation_commands=["true"], rollback_plan="git revert the merge")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    flow.claim()
    payload = stopped_on(env, "escalation_path", "escalation_missing")
    assert payload["missing_packet_type"] == "review"


def test_a_config_without_runner_verifier_is_refused(env: Env) -> None:
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    line = "  verifier: agent:verifier\n"
    assert line in text
    path.write_text(text.replace(line, ""), encoding="utf-8")
    result = env.cli("status", "--json")
    assert result.code == 2, (result.out, result.err)
    assert "runner.verifier" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_config_nested_thousands_deep_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    from cockpit.engine.config.model import load_config
    from cockpit.errors import ConfigError

    path = tmp_path / "cockpit.yaml"
    path.write_text("tenant: t\nlanes: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cockpit\.yaml"):
        load_config(path)
