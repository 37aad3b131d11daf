"""Regression tests of the CLI: one (or a few) per bug that was fixed, each on a real
workspace. Every test fails on the code before its fix (the docstring names what it pins)
and passes on the fixed code; a test whose regression could block runs it under a deadline,
so the regression shows up as a failure, not as a hung test run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.workspace import CliResult, Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


# -- 13: cockpit demo --fresh -------------------------------------------------------------------


def test_demo_fresh_deletes_only_a_demo_it_created(
    booked_to_in_progress: Env, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """cli demo: `--fresh` deletes the directory only when its marker says `cockpit demo`
    created it."""
    env = booked_to_in_progress
    refused = cli("demo", str(env.root), "--fresh")
    assert refused.code == 2, (refused.out, refused.err)
    assert refused.err.strip()
    assert (env.root / "cockpit.yaml").is_file()
    assert (env.root / ".cockpit" / "cockpit.db").is_file()
    assert env.wp("WP-1") is not None

    demo = tmp_path / "demo"
    made = cli("demo", str(demo))
    assert made.code == 0, made.err
    assert (demo / "cockpit.yaml").is_file()
    scratch = demo / "scratch.txt"
    scratch.write_text("left by a previous session\n")
    again = cli("demo", str(demo), "--fresh")
    assert again.code == 0, again.err
    assert not scratch.exists()
    assert (demo / "cockpit.yaml").is_file()
    assert (demo / ".cockpit" / "cockpit.db").is_file()
    refused_again = cli("demo", str(env.root), "--fresh")
    assert refused_again.code == 2


def test_run_json_needs_once(env: Env) -> None:
    """cli run: `--json` without `--once` is a usage error, not silently ignored."""
    result = env.cli("run", "--json")
    assert result.code == 2
    assert "--once" in result.err and len(result.err.strip().splitlines()) == 1
