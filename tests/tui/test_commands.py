"""Keys an operator already knows: ctrl+p opens the fuzzy command palette; `:` is k9s's
command mode (`:WP-0003`, `:audit`); keys typed right after `/` or `:` land in the field
it opened, even typed all at once (as a terminal delivers a fast typist's keys); `/` on
the audit screen reopens showing the filter in force."""

from __future__ import annotations

from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from cockpit.app import CockpitApp
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.audit import AuditScreen
from cockpit.screens.board import BoardScreen
from cockpit.screens.board_table import BoardTable
from cockpit.screens.canon import CanonScreen
from cockpit.screens.help import HelpScreen
from cockpit.screens.jump import JumpBar
from cockpit.screens.metrics import MetricsScreen
from cockpit.screens.rejected import RejectedScreen
from cockpit.screens.work_package import WorkPackageScreen
from tui.conftest import drive, make_app, reads_settled

CHARACTERS = {"slash": "/", "colon": ":", "enter": "\r", "escape": "\x1b", "comma": ","}


async def type_at_once(pilot: Pilot[None], *keys: str) -> None:
    """Every key sent before the app handles the first, as a terminal delivers keys typed
    quickly (pilot.press waits for the app between keys), then wait for the app."""
    for key in keys:
        pilot.app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))
    for _ in range(5):
        await pilot.pause()
    await reads_settled(pilot)


def shown_ids(app: CockpitApp) -> list[str]:
    table = next(s for s in app.screen_stack if isinstance(s, BoardScreen)).query_one(BoardTable)
    return [row["id"] for i in range(table.total) if (row := table.row_at(i)) is not None]


def warnings(app: CockpitApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "warning"]


# -- ctrl+p: the command palette ------------------------------------------------------------


def test_ctrl_p_opens_the_command_palette(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+p")
        assert CommandPalette.is_open(app)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"metrics")
        await pilot.pause(0.5)  # the palette searches in a worker
        await pilot.press("enter")
        await reads_settled(pilot)
        assert isinstance(app.screen, MetricsScreen)

    drive(app, scenario)


def test_the_palettes_jump_command_opens_the_prompt(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+p", *"jump")
        await pilot.pause(0.5)  # the palette searches in a worker
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        bar = app.screen.query_one(JumpBar)
        assert app.focused is bar and not bar.has_class("hidden")

    drive(app, scenario)


# -- `:` command mode ---------------------------------------------------------------------------


def test_colon_opens_a_work_package_by_its_id(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("colon", *"WP-0003", "enter")
        await reads_settled(pilot)
        screen = app.screen
        assert isinstance(screen, WorkPackageScreen) and screen.wp_id == "WP-0003"
        # Typed all at once, in lower case, from the WP screen: the keys are the prompt's.
        await type_at_once(pilot, "colon", *"wp-0002", "enter")
        screen = app.screen
        assert isinstance(screen, WorkPackageScreen) and screen.wp_id == "WP-0002"
        assert len(app.screen_stack) == 4  # board, WP-0003, WP-0002
        await type_at_once(pilot, "colon", *"board", "enter")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)


def test_colon_opens_screens_by_name(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        for name, kind in (
            ("audit", AuditScreen),
            ("metrics", MetricsScreen),
            ("rejected", RejectedScreen),
            ("canon", CanonScreen),
            ("help", HelpScreen),
        ):
            await type_at_once(pilot, "colon", *name, "enter")
            assert isinstance(app.screen, kind), name
            await pilot.press("escape")
            assert isinstance(app.screen, BoardScreen), name
        await type_at_once(pilot, "colon", *"met", "enter")  # a name begun will do
        assert isinstance(app.screen, MetricsScreen)

    drive(app, scenario)


def test_colon_with_an_unknown_name_is_a_notification(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await type_at_once(pilot, "colon", *"WP-9999", "enter")
        assert isinstance(app.screen, BoardScreen)
        said = warnings(app)
        assert len(said) == 1 and "Nothing is named 'WP-9999'" in said[0]
        assert "WP-0003" in said[0] and "audit" in said[0]  # it says what would do
        # esc closes the prompt and goes nowhere; the board has its keys back.
        await type_at_once(pilot, "colon", *"WP-0003", "escape")
        assert isinstance(app.screen, BoardScreen)
        assert isinstance(app.focused, BoardTable)
        assert app.screen.query_one(JumpBar).has_class("hidden")
        await pilot.press("a")
        assert app.screen.attention  # type: ignore[attr-defined]

    drive(app, scenario)


def test_colon_in_a_text_field_is_a_character(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await type_at_once(pilot, "slash", *"state", "colon", *"blocked", "enter")
        assert isinstance(app.screen, BoardScreen)
        assert app.screen.filter_text == "state:blocked"
        assert shown_ids(app) == ["WP-0002"]

    drive(app, scenario)


# -- keys typed right after `/` ------------------------------------------------------------------


def test_keys_typed_right_after_slash_land_in_the_filter(demo_ws: Workspace) -> None:
    """Typed all at once, `farewell` used to go to the board's keys (`a` turned on the
    needs-attention view, `r` opened a dialog) and the filter stayed empty."""
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        await pilot.press("slash", *"farewell", "enter")
        assert (screen.filter_text, screen.attention) == ("farewell", False)
        assert shown_ids(app) == ["WP-0006"]
        await pilot.press("escape")
        await type_at_once(pilot, "slash", *"farewell", "enter")
        assert app.screen is screen
        assert (screen.filter_text, screen.attention) == ("farewell", False)
        assert shown_ids(app) == ["WP-0006"]
        assert isinstance(app.focused, BoardTable)
        assert screen.query_one("#filter", Input).has_class("hidden")

    drive(app, scenario)


def test_slash_on_the_audit_screen_reopens_with_the_filter_in_force(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("A")
        await reads_settled(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await type_at_once(pilot, "slash", *"type:dispatched", "enter")
        assert screen.filter_text == "type:dispatched"
        field = screen.query_one("#audit-filter", Input)
        assert field.has_class("hidden") and not screen.verifying
        await pilot.press("slash")
        assert app.focused is field and not field.has_class("hidden")
        assert field.value == "type:dispatched"
        assert field.cursor_position == len(field.value)
        await pilot.pause()
        assert "type:dispatched" in field.render_line(0).text  # shown, not just held
        # What is typed next edits it (k9s: the filter is extended, not replaced).
        await type_at_once(pilot, *",task_created", "enter")
        assert screen.filter_text == "type:dispatched,task_created"

    drive(app, scenario)


def test_what_a_name_after_colon_names() -> None:
    from cockpit.screens.jump import resolve

    wps = {"WP-0003", "a"}

    def find(text: str) -> str | None:
        return next((w for w in (text, text.upper()) if w in wps), None)

    assert resolve("audit", find) == ("screen", "audit")
    assert resolve(" :Metrics ", find) == ("screen", "metrics")
    assert resolve("q", find) == ("screen", "quit")
    assert resolve("wp-0003", find) == ("wp", "WP-0003")
    assert resolve("wp WP-0003", find) == ("wp", "WP-0003")
    assert resolve("rej", find) == ("screen", "rejected")  # a name begun, one screen so
    assert resolve("a", find) == ("wp", "a")  # a WP's id before a screen's name begun
    nothing = resolve("WP-9", find)
    assert isinstance(nothing, str) and "Nothing is named 'WP-9'" in nothing
