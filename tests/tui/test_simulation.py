"""The simulation screen (issue 16): `S` or `:simulation` shows the workspace's last
`cockpit simulate` report (settings, gated against ungated with charts, the faults, the
advisory figures, what the gate did not catch and why); `r` reads it again; with no report
it says what to run. The reports are real: `simulate` on a demo workspace, fixed seeds."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.engine.simulate import save_report, simulate
from cockpit.engine.simulate.tally import SCHEMA
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.screens.board import BoardScreen
from cockpit.screens.simulation import RUN, SimulationScreen
from tui.conftest import drive, make_app, reads_settled
from tui.test_snapshots import AppFor, Snap, pressing

# Tall enough for the whole report: the picture shows every part of the screen.
TALL = (120, 72)
# A mix where the gate lets something through (premature claims on light WPs).
FAULTS = "default,premature_claim=0.3,weak_evidence=0.1"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Two real reports on the demo's policy: `mixed` (10 WPs, 2 agents, seed 3, faults
    that get through) and `honest` (4 WPs, 1 agent, no faults)."""
    ws = init_workspace(tmp_path_factory.mktemp("sim") / "demo", demo=True)
    return {
        "mixed": simulate(ws, 10, 2, FAULTS, 3),
        "honest": simulate(ws, 4, 1, "none", 2),
    }


def on_screen(app: object) -> str:
    """The screen's report, as the terminal shows it."""
    static = app.screen.query_one("#simulation", Static)  # type: ignore[attr-defined]
    return "\n".join(static.render_line(y).text for y in range(static.size.height))


async def opened(pilot: Pilot[None], *keys: str) -> str:
    await pilot.press(*keys)
    await reads_settled(pilot)
    assert isinstance(pilot.app.screen, SimulationScreen)
    return on_screen(pilot.app)


def test_simulation(
    snap_compare: Snap, demo_ws: Workspace, app_for: AppFor, reports: dict[str, Any]
) -> None:
    save_report(demo_ws, reports["mixed"])
    assert snap_compare(app_for(demo_ws), run_before=pressing("S"), terminal_size=TALL)


def test_the_screen_opens_by_key_and_by_name_and_r_reads_again(
    demo_ws: Workspace, reports: dict[str, Any]
) -> None:
    save_report(demo_ws, reports["mixed"])
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        text = await opened(pilot, "S")
        assert pilot.app.screen.report == reports["mixed"]  # type: ignore[attr-defined]
        assert "10 work packages · 2 simulated agents · seed 3" in text
        assert "premature_claim 0.3, weak_evidence 0.1" in text
        assert "false completions admitted (of admitted)" in text
        assert "3/9 (33.3%)" in text and "6/10 (60.0%)" in text
        assert "events per WP by tier" in text and "55/5 (11.0)" in text
        assert "premature_claim: 3 admitted (3 light)" in text
        assert "the gate re-runs nothing" in text  # why it got through
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, BoardScreen)
        text = await opened(pilot, "colon", *"simulation", "enter")
        assert "seed 3" in text
        # A new report meanwhile: `r` reads it.
        save_report(demo_ws, reports["honest"])
        text = await opened(pilot, "r")
        assert pilot.app.screen.report == reports["honest"]  # type: ignore[attr-defined]
        assert "4 work packages · 1 simulated agent · seed 2" in text
        assert "faults     none" in text
        assert "the gated run admitted none" in text

    drive(app, scenario, size=TALL)


def test_no_report_says_what_to_run(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        text = " ".join((await opened(pilot, "S")).split())
        assert pilot.app.screen.report is None  # type: ignore[attr-defined]
        assert "No simulation report yet for this workspace." in text
        assert f"Run {RUN} on it" in text
        assert "then press r" in text

    drive(app, scenario)


def test_the_report_is_plain_text_and_a_broken_one_is_said(
    demo_ws: Workspace, reports: dict[str, Any]
) -> None:
    hostile = copy.deepcopy(reports["mixed"])
    hostile["settings"]["signatures"] = "[bold red]PWNED[/]"
    hostile["not_caught"][0]["by_tier"] = {"\x1b[31mred": 3}
    save_report(demo_ws, hostile)
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        text = await opened(pilot, "S")
        assert "signatures [bold red]PWNED[/]" in text
        assert "(3 \\x1b[31mred)" in text
        save_report(demo_ws, {"schema": SCHEMA, "settings": {}})
        text = await opened(pilot, "r")
        said = " ".join(text.split())
        assert "The last simulation report cannot be shown (KeyError: " in said
        assert f"run {RUN} again, then press r." in said
        assert pilot.app.screen.report is None  # type: ignore[attr-defined]

    drive(app, scenario, size=TALL)
