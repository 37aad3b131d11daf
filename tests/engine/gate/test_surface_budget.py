"""Surface globs cannot stall the gate (issue 11, point 8): matching is linear in the path,
with the semantics the regex translation had, and the gate's surface matching has a time
budget past which `scope_respected` is an `error` with a clear detail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.gate import scoped_flow, stopped_on, verdicts
from helpers.git import commit_all
from helpers.process import time_bound
from helpers.workspace import Env
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.gate import surfaces
from cockpit.engine.gate.surfaces import glob_regex, matches

DEPTH = 300
# The attacker's glob, and one more `**`: a backtracking matcher takes minutes on either.
HOSTILE = ["**/a/**/a/**/a/**/*.json", "**/a/**/a/**/a/**/a/**/*.json"]


def nested(worktree: Path, depth: int = DEPTH) -> str:
    """A file under `depth` nested a/ directories; returns its path in the worktree."""
    relative = "a/" * depth + "x.txt"
    (worktree / relative).parent.mkdir(parents=True)
    (worktree / relative).write_text("deep\n")
    return relative


def test_a_hostile_surface_glob_against_deep_directories_does_not_stall_the_gate(
    env: Env, tmp_path: Path
) -> None:
    flow, worktree, _ = scoped_flow(
        env, tmp_path, owned_surfaces=["**"], forbidden_surfaces=HOSTILE
    )
    deep = nested(worktree)
    commit_all(worktree, "deep")
    with time_bound(60, "the gate on 300 nested directories with a hostile glob"):
        flow.claim()  # swept and verified by the runner
    [verdict] = verdicts(env)
    assert verdict.payload["changed_files"] == [deep]
    assert verdict.payload["predicates"]["scope_respected"]["status"] == "satisfied"


def test_surface_matching_past_its_budget_is_a_gate_error_not_a_stall(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow, worktree, _ = scoped_flow(
        env, tmp_path, owned_surfaces=["**"], forbidden_surfaces=HOSTILE
    )
    nested(worktree, 20)
    commit_all(worktree, "deep")
    monkeypatch.setattr(surfaces, "MATCH_BUDGET_S", 0.0)  # every match is past the budget
    flow.claim()
    payload = stopped_on(env, "scope_respected", "gate_error", status="error")
    detail = payload["predicates"]["scope_respected"]["detail"]
    assert "time budget" in detail and "1 changed file(s)" in detail, detail


# -- the matcher keeps the regex translation's semantics -------------------------------------


def reference_regex(pattern: str) -> re.Pattern[str]:
    """The backtracking translation the gate used before (its semantics are the contract)."""
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


@settings(max_examples=600, deadline=None)
@given(
    pattern=st.text(alphabet="ab/*?.\n", max_size=10),
    path=st.text(alphabet="ab/.\n", max_size=12),
)
def test_the_linear_matcher_agrees_with_the_regex_translation(pattern: str, path: str) -> None:
    expected = reference_regex(pattern).match(path) is not None
    assert bool(glob_regex(pattern).match(path)) == expected
    assert matches(path, [pattern]) == expected


def test_the_matcher_is_linear_on_the_hostile_glob() -> None:
    path = "a/" * 2000 + "x.txt"
    with time_bound(30, "matching a 4000-character path against a hostile glob"):
        assert not matches(path, HOSTILE)
        assert matches("a/" * 2000 + "x.json", HOSTILE)
