"""Separation of duties and what replay re-checks (SPEC 10.5), on real workspaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.forge import forge_row
from helpers.workspace import Env, book_to_scope_confirmed, edit_config, entry, t, work_package

from cockpit.engine.config.model import parse_config
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.errors import ConfigError

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def worker_who_reviews(env: Env) -> None:
    """agent:implementer-1 may review too: the rule, not the roles, must stop it."""
    edit_config(
        env,
        (
            "agent:implementer-1: {roles: [worker], lanes: [implementation]}",
            "agent:implementer-1: {roles: [worker, reviewer], lanes: [implementation]}",
        ),
    )


def booked_and_confirmed(env: Env) -> None:
    book_to_scope_confirmed(env)
    assert env.sweep().sweep.ingested == 3


def test_the_assignee_cannot_give_its_own_go_by_entry(env: Env) -> None:
    worker_who_reviews(env)
    booked_and_confirmed(env)
    env.drop(
        "go.yaml",
        entry("review", "REV-1", "WP-1", "agent:implementer-1", "verdict: go", created=t(3)),
    )
    summary = env.sweep()
    [logged] = summary.sweep.log
    assert logged["code"] == "capability_denied"
    assert "was the assignee of WP-1 (separation of duties)" in logged["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "scope_confirmed"


def test_the_assignee_cannot_give_its_own_go_or_override_by_action(env: Env) -> None:
    worker_who_reviews(env)
    edit_config(env, ("reviewer: [review,", "reviewer: [review, override,"))
    booked_and_confirmed(env)
    go = env.cli("review", "WP-1", "--verdict", "go", "--as", "agent:implementer-1")
    assert go.code == 1 and "separation of duties" in go.err
    override = env.cli(
        "override", "WP-1", "--to", "in_progress", "--reason", "x", "--as", "agent:implementer-1"
    )
    assert override.code == 1 and "may not override it" in override.err
    assert env.cli("review", "WP-1", "--verdict", "go", "--as", "human:reviewer").code == 0


def test_a_verifier_that_can_claim_is_refused_by_config_validation(env: Env) -> None:
    data = load_yaml((env.root / "cockpit.yaml").read_text())
    data["runner"]["verifier"] = "agent:implementer-1"
    data["roles"]["worker"].append("verify")
    with pytest.raises(ConfigError, match="holds the claim capability"):
        parse_config(data)


def replay(env: Env) -> tuple[int, dict[str, Any]]:
    result = env.cli("replay", "--json")
    return result.code, json.loads(result.out)


def test_replay_refuses_a_state_change_the_lifecycle_never_allows(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    code, document = replay(env)
    assert code == 0 and document["ok"] is True, document
    move = {"transition": {"from": "booked", "to": "complete"}}
    seq = forge_row(env, "task_completed", "WP-1", "human:owner", move)
    assert env.cli("audit", "verify").code == 0  # the chain itself is consistent
    code, document = replay(env)
    assert code == 1
    assert document["first_bad_seq"] == seq
    assert "not allowed in state booked" in document["reason"]


def test_replay_refuses_an_entry_event_its_principal_could_not_have_caused(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    text = entry("veto", "VETO-X", "WP-1", "agent:implementer-1", "reason: stop")
    payload = {
        "entry": {
            "schema": "cockpit.entry/v1",
            "kind": "veto",
            "id": "VETO-X",
            "work_package": "WP-1",
            "principal": "agent:implementer-1",
            "tenant": None,
            "created": "2026-11-21T10:00:00Z",
            "refs": [],
            "body": {"reason": "stop", "lift": False},
        },
        "raw": text,
        "sha256": "0" * 64,
        "file": "veto.yaml",
        "edges": [],
        "active": True,
        "reason": "stop",
    }
    seq = forge_row(env, "veto_changed", "WP-1", "agent:implementer-1", payload, "VETO-X")
    code, document = replay(env)
    assert code == 1 and document["first_bad_seq"] == seq
    assert "lacks the capability a veto entry needs" in document["reason"]
    assert Path(env.root / ".cockpit" / "cockpit.db").exists()
