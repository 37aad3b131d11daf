"""Regression tests of human actions: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

import pytest
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 15: refusals of recover and override -------------------------------------------------------


def test_recover_and_override_refusals(booked_to_in_progress: Env) -> None:
    """actions.recover / override / resolve_principal: an unknown recovery owner is an input
    error; an override must change the state and may not enter `verifying` (only the gate
    does); `--as ''` names no principal."""
    env = booked_to_in_progress
    moved = env.cli("override", "WP-1", "--to", "blocked", "--reason", "set up the test")
    assert moved.code == 0, moved.err
    before = len(env.events())
    nobody = env.cli("recover", "WP-1", "--owner", "agent:nobody", "--next-action", "x")
    assert nobody.code == 2, (nobody.out, nobody.err)
    assert "agent:nobody" in nobody.err
    same = env.cli("override", "WP-1", "--to", "blocked", "--reason", "again")
    assert same.code == 1, (same.out, same.err)
    verifying = env.cli("override", "WP-1", "--to", "verifying", "--reason", "skip the gate")
    assert verifying.code == 2, (verifying.out, verifying.err)
    empty = env.cli("cancel", "WP-1", "--reason", "by nobody", "--as", "")
    assert empty.code == 1, (empty.out, empty.err)
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "blocked"
    assert len(env.events()) == before
