"""Dialogs as a new user meets them: at 80x24 each fits with its buttons in view and shows
its own keys in its footer; an action the engine would refuse is refused before anything
is asked, in the engine's words; the veto, dispatch and review dialogs offer only what
applies. Real workspaces, real SQLite. The 80x24 snapshots under __snapshots__ have been
looked at: they are pictures of what users see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select
from textual.widgets._footer import FooterKey  # what a Footer shows, one per key

from cockpit.app import CockpitApp
from cockpit.domain import EventType
from cockpit.engine.actions import human, preconditions
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.screens import modals
from cockpit.screens.board import BoardScreen
from cockpit.store import Store
from tui.conftest import drive as drive_at
from tui.conftest import fixed_clock, make_app, reads_settled
from tui.test_pilot import appended, choose, head, notes, problem, select_row, settled

SMALL = (80, 24)
OWNER = "human:owner"
Snap = Callable[..., bool]
Opener = Callable[[Pilot[None]], Awaitable[ModalScreen[Any]]]


def drive(app: CockpitApp, scenario: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    """Run `scenario` in a headless 80x24 terminal, the smallest one dialogs must serve."""
    drive_at(app, scenario, SMALL)


def engine(app: CockpitApp, call: Callable[[Workspace, Store], object]) -> None:
    """Act through the engine on a connection of its own (as the CLI would), then let the
    app read what changed."""
    with app.ws.open_store(fixed_clock) as store:
        call(app.ws, store)
    app.poll()


async def modal(pilot: Pilot[None]) -> ModalScreen[Any]:
    await pilot.pause()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ModalScreen), f"no dialog opened: {screen!r}"
    return screen


def action(
    name: str, wp_id: str, setup: Callable[[Workspace, Store], object] | None = None
) -> Opener:
    """Opens the dialog of action `name` on `wp_id` (after `setup`, made through the
    engine) by the one entry point the board's and the WP screen's keys call."""

    async def open_it(pilot: Pilot[None]) -> ModalScreen[Any]:
        app: Any = pilot.app
        if setup is not None:
            engine(app, setup)
        app.start_action(name, wp_id)
        return await modal(pilot)

    return open_it


async def override_confirmation(pilot: Pilot[None]) -> ModalScreen[Any]:
    screen = await action("override", "WP-0002")(pilot)
    screen.query_one("#to", Select).value = "accepted"
    screen.query_one("#reason", Input).value = "merged by hand"
    await pilot.press("ctrl+s")
    return await modal(pilot)


async def commission_confirmation(pilot: Pilot[None]) -> ModalScreen[Any]:
    pilot.app.start_commission("CAND-0001")  # type: ignore[attr-defined]
    return await modal(pilot)


async def signing_key(pilot: Pilot[None]) -> ModalScreen[Any]:
    pilot.app.push_screen(modals.SigningKeyModal(OWNER, required=False))
    return await modal(pilot)


async def text_file(pilot: Pilot[None]) -> ModalScreen[Any]:
    body = "\n".join(f"line {n}: {'x' * 120}" for n in range(60))  # longer and wider
    pilot.app.push_screen(modals.TextModal("queue/rejected/0001.yaml", body))
    return await modal(pilot)


async def verify_result(pilot: Pilot[None]) -> ModalScreen[Any]:
    app: Any = pilot.app
    verified = [e for e in app.store.events("WP-0002") if e.type == EventType.VERIFY_COMPLETED]
    app.push_screen(modals.VerifyResultModal("WP-0002", verified[-1].payload))
    return await modal(pilot)


FORM_KEYS = [("ctrl+s", "submit"), ("escape", "back")]
CLOSE_KEYS = [("escape", "close")]

# Every dialog under cockpit/screens/modals/, opened with the keys its footer must show.
# The last two change the demo (a veto stands on WP-0004, WP-0003 failed): keep them last.
DIALOGS: list[tuple[str, Opener, list[tuple[str, str]]]] = [
    ("override", action("override", "WP-0002"), FORM_KEYS),
    ("override confirmation", override_confirmation, [("y", "yes"), ("n", "no")]),
    ("cancel", action("cancel", "WP-0004"), FORM_KEYS),
    ("veto, raise", action("veto", "WP-0002"), FORM_KEYS),
    ("dispatch", action("dispatch", "WP-0005"), FORM_KEYS),
    ("review", action("review", "WP-0001"), FORM_KEYS),
    ("recover", action("recover", "WP-0002"), FORM_KEYS),
    ("dismiss", action("dismiss", "WP-0002"), FORM_KEYS),
    ("commission confirmation", commission_confirmation, [("y", "yes"), ("n", "no")]),
    ("signing key", signing_key, [("ctrl+s", "sign"), ("escape", "back")]),
    ("text", text_file, CLOSE_KEYS),
    ("verify result", verify_result, CLOSE_KEYS),
    (
        "veto, lift",
        action("veto", "WP-0004", lambda ws, s: human.veto(ws, s, "WP-0004", "hold", OWNER)),
        FORM_KEYS,
    ),
    (
        "rollback",
        action(
            "rollback",
            "WP-0003",
            lambda ws, s: human.override(ws, s, "WP-0003", "failed", "set up", OWNER),
        ),
        FORM_KEYS,
    ),
]


async def close_dialogs(pilot: Pilot[None]) -> None:
    for _ in range(4):
        if not isinstance(pilot.app.screen, ModalScreen):
            return
        await pilot.press("escape")
        await pilot.pause()
    assert isinstance(pilot.app.screen, BoardScreen)


def each_dialog(demo_ws: Workspace, check: Callable[[str, ModalScreen[Any], Any], None]) -> None:
    """Open every dialog in turn at 80x24 and `check` it (with what its footer must show)."""
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        for name, opener, keys in DIALOGS:
            screen = await opener(pilot)
            check(name, screen, keys)
            await close_dialogs(pilot)

    drive(app, scenario)


def test_every_dialog_fits_80x24_with_its_buttons_in_view(demo_ws: Workspace) -> None:
    def check(name: str, screen: ModalScreen[Any], keys: object) -> None:
        footer = screen.query_one(Footer).region
        assert footer.bottom == SMALL[1], name
        room = Region(0, 0, SMALL[0], footer.y)  # the screen less the dialog's footer
        box = screen.query_one(".dialog")
        assert room.contains_region(box.region), (name, box.region)
        buttons = list(screen.query(Button))
        assert buttons, name
        for button in buttons:
            shown = screen.find_widget(button)
            assert room.contains_region(button.region), (name, button.id, button.region)
            # not clipped by the dialog around it: the whole button is drawn
            assert shown.clip.contains_region(button.region), (name, button.id, shown.clip)
        if isinstance(box, VerticalScroll):  # a form or a question: all of it is in view
            assert box.max_scroll_y == 0, (name, box.max_scroll_y)

    each_dialog(demo_ws, check)


def test_each_dialog_footer_shows_its_own_keys(demo_ws: Workspace) -> None:
    def check(name: str, screen: ModalScreen[Any], keys: list[tuple[str, str]]) -> None:
        shown = [(k.key, k.description) for k in screen.query_one(Footer).query(FooterKey)]
        assert shown == keys, name  # its own, and none of the board's

    each_dialog(demo_ws, check)


def test_the_override_dialog_at_80x24(snap_compare: Snap, demo_ws: Workspace) -> None:
    """Title, warning, state, reason and both buttons in view; ^s submit and esc back in the
    footer."""

    async def open_it(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        await action("override", "WP-0002")(pilot)

    assert snap_compare(make_app(demo_ws), run_before=open_it, terminal_size=SMALL)


def test_the_review_dialog_at_80x24_offers_what_applies(
    snap_compare: Snap, demo_ws: Workspace
) -> None:
    """WP-0001 is accepted: its verdicts open, and no `go`."""

    async def open_it(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        await action("review", "WP-0001")(pilot)
        await pilot.click("#verdict")

    assert snap_compare(make_app(demo_ws), run_before=open_it, terminal_size=SMALL)


def test_the_dispatch_dialog_at_80x24_after_a_pick(snap_compare: Snap, demo_ws: Workspace) -> None:
    """A submit without a choice, then a choice: the prompt says whom it goes to."""

    async def open_it(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        screen = await action("dispatch", "WP-0005")(pilot)
        await pilot.press("ctrl+s")
        screen.query_one("#to", Select).value = "agent:implementer-2"
        await pilot.pause()

    assert snap_compare(make_app(demo_ws), run_before=open_it, terminal_size=SMALL)


# -- refused before anything is asked ----------------------------------------------------------


def cancel_complete(ws: Workspace, store: Store) -> object:
    return human.cancel(ws, store, "WP-0001", "why", OWNER)


REFUSED = [
    # action, key, WP, setup, the engine call that would be refused
    ("rollback", "b", "WP-0004", None, lambda ws, s: human.rollback(ws, s, "WP-0004", "r", OWNER)),
    (
        "dispatch",
        "d",
        "WP-0004",
        None,
        lambda ws, s: human.dispatch(ws, s, "WP-0004", "agent:implementer-1", OWNER),
    ),
    (
        "recover",
        "r",
        "WP-0003",
        None,
        lambda ws, s: human.recover(ws, s, "WP-0003", OWNER, "next", OWNER),
    ),
    (
        "cancel",
        "c",
        "WP-0001",
        lambda ws, s: human.review(ws, s, "WP-0001", "accepted", [], OWNER),
        cancel_complete,
    ),
]


@pytest.mark.parametrize(
    ("name", "key", "wp_id", "setup", "call"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_an_action_the_engine_would_refuse_asks_nothing(
    demo_ws: Workspace, name: str, key: str, wp_id: str, setup: Any, call: Any
) -> None:
    if setup is not None:
        with demo_ws.open_store(fixed_clock) as store:
            setup(demo_ws, store)
    app = make_app(demo_ws)
    before = head(demo_ws)
    seen: dict[str, str] = {}

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, wp_id)
        await pilot.press(key)
        await settled(pilot)
        assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        said = [(n.title, n.severity, n.message) for n in notes(app) if n.severity == "error"]
        assert len(said) == 1, said
        assert said[0][:2] == (f"{name.capitalize()} refused", "error")
        seen["refused"] = said[0][2]

    drive(app, scenario)
    assert appended(demo_ws, before) == []
    with demo_ws.open_store(fixed_clock) as store, pytest.raises(Refused) as refused:
        call(demo_ws, store)  # what the engine says when it is asked for real
    assert seen["refused"] == str(refused.value)


def test_verify_outside_claimed_is_refused_before_a_key_is_asked_for(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0002")
        await pilot.press("v")
        await settled(pilot)
        assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        (note,) = [n for n in notes(app) if n.severity == "error"]
        assert note.title == "Verify refused"
        with demo_ws.open_store(fixed_clock) as store:
            assert note.message == preconditions.refusal(demo_ws, store, "verify", "WP-0002", OWNER)
        assert "in state blocked (only from: claimed)" in note.message

    drive(app, scenario)


# -- only what applies ---------------------------------------------------------------------------


def offered(screen: ModalScreen[Any], selector: str) -> list[Any]:
    select = screen.query_one(selector, Select)
    return [value for _, value in select._options if value is not Select.NULL]


def words(screen: ModalScreen[Any]) -> str:
    labels = [str(label.content) for label in screen.query(Label)]
    return " ".join(labels + [str(b.label) for b in screen.query(Button)])


def test_the_veto_dialog_offers_raise_or_lift_whichever_applies(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await action("veto", "WP-0004")(pilot)
        assert "No veto stands" in words(screen) and "Lift" not in words(screen)
        assert str(screen.query_one("#ok", Button).label) == "Raise veto"
        screen.query_one("#reason", Input).value = "leaks PII"
        await pilot.press("ctrl+s")
        await settled(pilot)
        screen = await action("veto", "WP-0004")(pilot)
        assert "A veto stands" in words(screen) and "Raise" not in words(screen)
        assert str(screen.query_one("#ok", Button).label) == "Lift veto"
        screen.query_one("#reason", Input).value = "PII removed"
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    assert [(e.type, e.payload["active"]) for e in appended(demo_ws, before)] == [
        ("veto_changed", True),
        ("veto_changed", False),
    ]


def test_the_dispatch_prompt_follows_the_choice(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await action("dispatch", "WP-0005")(pilot)
        prompt = screen.query_one("#to-prompt", Label)
        assert str(prompt.content).startswith("Choose who to dispatch to")
        await pilot.press("ctrl+s")
        assert problem(screen) == "Choose who to dispatch to."
        await choose(pilot, "#to", "agent:implementer-2")
        assert problem(screen) == ""  # what was missing is no longer said
        assert str(prompt.content) == (
            "Dispatch to agent:implementer-2: it can claim and serves lane implementation."
        )
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    new = appended(demo_ws, before)
    assert [(e.type, e.payload["to"]) for e in new] == [("dispatched", "agent:implementer-2")]


@pytest.mark.parametrize(
    ("wp_id", "state", "verdicts"),
    [
        ("WP-0001", "accepted", ["revision_required", "accepted", "rejected", "diagnostic"]),
        ("WP-0002", "blocked", ["revision_required", "diagnostic"]),
        ("WP-0004", "scope_confirmed", ["go", "diagnostic"]),
        ("WP-0005", "booked", ["diagnostic"]),
    ],
)
def test_the_review_dialog_offers_the_verdicts_legal_now(
    demo_ws: Workspace, wp_id: str, state: str, verdicts: list[str]
) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        if state == "scope_confirmed":
            engine(app, lambda ws, s: human.override(ws, s, wp_id, state, "set up", OWNER))
        screen = await action("review", wp_id)(pilot)
        assert offered(screen, "#verdict") == verdicts
        wp = app.store.work_package(wp_id)
        assert wp is not None and wp["state"] == state
        legal = preconditions.review_verdicts(app.store, wp, OWNER)
        assert verdicts == [v.value for v in legal]  # the engine's word, not a second copy
        chosen = screen.query_one("#verdict", Select).value
        assert chosen == (verdicts[0] if len(verdicts) == 1 else Select.NULL)

    drive(app, scenario)
