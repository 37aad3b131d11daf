"""Shared fixtures: real temporary workspaces, real SQLite stores, the real CLI.

The helpers these fixtures build on, and the ones tests import, are in `helpers/`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.workspace import CliResult, Env, book_to_in_progress, run_cli


@pytest.fixture
def env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Env:
    return Env(tmp_path / "ws", capsys)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the CLI in-process with exactly the given arguments."""

    def run(*args: str) -> CliResult:
        return run_cli(capsys, list(args))

    return run


@pytest.fixture
def booked_to_in_progress(env: Env) -> Iterator[Env]:
    """A workspace where WP-1 has been booked, dispatched, scope-confirmed and given go."""
    book_to_in_progress(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    yield env


@pytest.fixture
def no_ambient_principal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Actions default to $COCKPIT_PRINCIPAL, then the operator: start from the operator
    (and from no ambient $COCKPIT_WORKSPACE). Use with
    `pytestmark = pytest.mark.usefixtures("no_ambient_principal")`."""
    monkeypatch.delenv("COCKPIT_PRINCIPAL", raising=False)
    monkeypatch.delenv("COCKPIT_WORKSPACE", raising=False)
    yield
