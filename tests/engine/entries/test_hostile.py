"""Hostile input: files an attacker or a broken agent would write. Each is rejected with a
specific code or shown literally, and the queue goes on."""

from __future__ import annotations

import json

from helpers.workspace import Env, entry, rejection_reason, t, work_package


def test_deeply_nested_yaml_is_a_parse_error_and_the_queue_goes_on(env: Env) -> None:
    nested = "[" * 50_000 + "]" * 50_000
    env.drop("deep.yaml", f"schema: cockpit.entry/v1\nkind: claim\nbody: {nested}\n")
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    summary = env.sweep()
    assert rejection_reason(env, "deep.yaml")["code"] == "parse_error"
    assert summary.sweep.ingested == 1
    assert env.wp("WP-1") is not None


def test_billion_laughs_is_refused_before_expansion(env: Env) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    env.drop("laughs.yaml", "\n".join(lines) + "\n")
    env.sweep()
    assert rejection_reason(env, "laughs.yaml")["code"] == "unsafe_yaml"


def test_binary_garbage_is_a_parse_error(env: Env) -> None:
    env.drop("garbage.yaml", bytes(range(256)) * 4)
    env.sweep()
    assert rejection_reason(env, "garbage.yaml")["code"] == "parse_error"


def test_duplicate_keys_are_a_parse_error(env: Env) -> None:
    text = work_package("WP-1", created=t(0)) + "kind: dispatch\n"
    env.drop("dup.yaml", text)
    env.sweep()
    reason = rejection_reason(env, "dup.yaml")
    assert reason["code"] == "parse_error"
    assert "duplicate key" in str(reason["message"])


def test_unknown_body_field_is_a_schema_error_naming_it(env: Env) -> None:
    body = """
        title: T
        objective: O
        owner: agent:implementer-1
        accountable: human:owner
        tier: standard
        lane: implementation
        forbiden_surfaces: ["secrets/**"]
    """
    env.drop("typo.yaml", work_package("WP-1", body=body, created=t(0)))
    env.sweep()
    reason = rejection_reason(env, "typo.yaml")
    assert reason["code"] == "schema_error"
    assert "forbiden_surfaces" in str(reason["message"])


def test_hostile_text_is_stored_verbatim_and_printed_literally(env: Env) -> None:
    title = "evil [bold red]markup[/] \x1b[31mred\x1b[0m \u202edesrever"
    body = f"""
        title: {json.dumps(title)}
        objective: O
        owner: agent:implementer-1
        accountable: human:owner
        tier: light
        lane: implementation
    """
    env.drop("wp.yaml", work_package("WP-1", body=body, created=t(0)))
    env.sweep()
    wp = env.wp("WP-1")
    assert wp is not None and wp["title"] == title
    board = env.cli("status").out
    assert "\x1b" not in board and "\u202e" not in board
    out = env.cli("status", "WP-1").out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[31mred" in out and "\\u202e" in out
    assert "[bold red]markup[/]" in out
    detail = env.cli("status", "WP-1", "--json").json()
    assert detail["title"] == title


def test_entry_for_another_tenant_is_refused_even_from_the_owner(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0), extra="tenant: other"))
    env.sweep()
    assert rejection_reason(env, "wp.yaml")["code"] == "tenant_mismatch"


def test_claim_cannot_point_evidence_at_an_unknown_entry(booked_to_in_progress: Env) -> None:
    env = booked_to_in_progress
    body = """
        done_state: done
        evidence: [EVD-404]
        owner: agent:implementer-1
        accountable: human:owner
    """
    env.drop("c.yaml", entry("claim", "CLM-1", "WP-1", "agent:implementer-1", body, created=t(9)))
    env.sweep()
    assert rejection_reason(env, "c.yaml")["code"] == "bad_ref"
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "in_progress"
