"""Issue 18's acceptance of delivery, on the demo as a person runs it: after `cockpit run
--once` and the owner's `cockpit review WP-0006 --verdict accepted`, `cockpit deliver
WP-0006 --via merge` advances the demo project's `main` by the WP's change after re-running
its validation; `cockpit status WP-0006 --json` shows the delivery; `cockpit attest verify`
exits 0 on its attestation; a second delivery is refused with a sentence. The demo runs
signed (its keys beside it): every action here is a signed one."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.workspace import CliResult

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

Cli = Callable[..., CliResult]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def test_the_demo_delivers_wp_0006_by_merge_once(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COCKPIT_SIGNING_KEY", raising=False)
    root = tmp_path / "demo"
    assert cli("init", "--demo", str(root)).code == 0
    ws = ("--workspace", str(root))
    assert cli("run", "--once", *ws).code == 0
    project = root / "project"
    before = git(project, "rev-parse", "main")
    reviewed = cli("review", "WP-0006", "--verdict", "accepted", "--as", "human:owner", *ws)
    assert reviewed.code == 0, reviewed.err

    planned = cli("deliver", "WP-0006", "--via", "merge", "--plan", "--json", *ws)
    assert planned.code == 0, planned.err
    plan = planned.json()
    assert (plan["via"], plan["base"], plan["base_sha"]) == ("merge", "main", before)
    assert plan["validation"] == ["python3 checks/check_greet.py"]
    assert git(project, "rev-parse", "main") == before  # a plan changes nothing

    done = cli("deliver", "WP-0006", "--via", "merge", *ws)
    assert done.code == 0, done.err
    merged = git(project, "rev-parse", "main")
    assert git(project, "rev-parse", "main^1") == before
    assert "def farewell" in (project / "greet.py").read_text()  # the checkout moved too
    assert git(project, "status", "--porcelain") == ""
    assert done.out.startswith(
        f"Delivered WP-0006 by merge: main moved from {before[:12]} to {merged[:12]} after "
        "re-running 1 validation command "
    )

    status = cli("status", "WP-0006", "--json", *ws)
    shown = status.json()["delivery"]
    assert (shown["via"], shown["base"], shown["base_sha"], shown["merge_sha"]) == (
        "merge",
        "main",
        before,
        merged,
    )
    assert shown["validated"] is True
    assert git(project, "rev-parse", "main^2") == shown["head"]
    assert [r["exit_code"] for r in shown["validation"]] == [0]

    attested = cli("attest", "verify", str(root / ".cockpit/attestations/WP-0006.intoto.json"), *ws)
    assert attested.code == 0, attested.out + attested.err
    assert f"WP-0006 delivered commit {shown['head']} by merge" in attested.out

    again = cli("deliver", "WP-0006", *ws)
    assert again.code == 1
    assert again.err.strip().startswith("cockpit: WP-0006 was already delivered by merge at seq")
    assert len(again.err.strip().splitlines()) == 1
    assert git(project, "rev-parse", "main") == merged

    # The record holds: every event signed (the demo requires it), the chain intact.
    verified = cli("audit", "verify", "--json", *ws)
    assert verified.code == 0, verified.out
    assert verified.json()["signatures"]["unsigned"] == 0
    log = cli("audit", "log", "WP-0006", "--json", *ws).json()
    kinds = [e["type"] for e in log]
    assert kinds[-2:] == ["delivered", "delivery_refused"]
    signed = log[-2]["payload"]["signature"]
    assert signed["namespace"] == "cockpit-action"
    assert signed["signed"]["action"] == "deliver"
    assert signed["signed"]["args"] == {
        "via": "merge",
        "head": shown["head"],
        "base": "main",
        "base_sha": before,
    }
