"""A TUI that holds the runner lock ingests but starts no agents (issue 11, point 8): a WP
waiting for a lane's agent is flagged in the header and in the needs-attention view, and
is not flagged while a runner that starts agents holds the workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual.pilot import Pilot

from cockpit.app import CockpitApp
from cockpit.engine.runner.lock import RunnerLock
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.screens.board import BoardScreen
from cockpit.screens.board_table import BoardTable
from cockpit.screens.status_bar import StatusBar
from cockpit.store import attention
from tui.conftest import SIZE, ingest, make_app

FLAG = "agents not started: no runner"


def dispatched_in_a_lane_with_a_command(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    init_workspace(root, tenant="demo")
    config = root / "cockpit.yaml"
    text = config.read_text()
    assert '    # command: ["python3", "agents/agent.py"]\n' in text
    config.write_text(
        text.replace(
            '    # command: ["python3", "agents/agent.py"]\n',
            '    command: ["python3", "agents/agent.py"]\n',
        )
    )
    ws = Workspace.load(root)
    body = (
        "  title: Waits for its agent\n  objective: o\n  owner: agent:implementer-1\n"
        "  accountable: human:owner\n  tier: light\n  lane: implementation\n"
    )
    head = "schema: cockpit.entry/v1\nprincipal: human:owner\n"
    (ws.queue_dir("new") / "1.yaml").write_text(
        head + "kind: work_package\nid: WP-1\nwork_package: WP-1\n"
        "created: 2026-11-21T10:00:00Z\nbody:\n" + body
    )
    (ws.queue_dir("new") / "2.yaml").write_text(
        head + "kind: dispatch\nid: DSP-1\nwork_package: WP-1\n"
        "created: 2026-11-21T10:01:00Z\nbody:\n  to: agent:implementer-1\n"
    )
    ingest(ws)
    return ws


def header(pilot: Pilot[None]) -> str:
    bar = pilot.app.screen.query_one(StatusBar)
    content = bar.content
    return content.plain if isinstance(content, Text) else str(content)


def board_ids(pilot: Pilot[None]) -> list[str]:
    table = pilot.app.screen.query_one(BoardTable)
    return [row["id"] for i in range(table.total) if (row := table.row_at(i)) is not None]


def run(app: CockpitApp) -> dict[str, object]:
    seen: dict[str, object] = {}

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, BoardScreen)
            seen["header"] = header(pilot)
            await pilot.press("a")  # the needs-attention view
            await pilot.pause()
            seen["attention"] = board_ids(pilot)
            seen["attention_header"] = header(pilot)

    asyncio.run(main())
    return seen


def test_a_tui_holding_the_lock_flags_wps_whose_agents_nobody_starts(tmp_path: Path) -> None:
    ws = dispatched_in_a_lane_with_a_command(tmp_path)
    app = make_app(ws)
    seen = run(app)
    assert "ingesting here" in str(seen["header"])
    assert FLAG in str(seen["header"]), seen["header"]
    assert "attention 1" in str(seen["header"]), seen["header"]
    assert seen["attention"] == ["WP-1"]
    with ws.open_store() as store:
        row = store.work_package("WP-1")
    assert row is not None and row["state"] == "dispatched"
    assert attention.UNSTARTED in attention.reasons(row, ("implementation",))


def test_no_flag_while_a_runner_that_starts_agents_holds_the_workspace(tmp_path: Path) -> None:
    ws = dispatched_in_a_lane_with_a_command(tmp_path)
    with RunnerLock(ws):  # a runner (it starts agents) in this very process
        seen = run(make_app(ws))
    assert "following runner" in str(seen["header"])
    assert FLAG not in str(seen["header"])
    assert seen["attention"] == []
