"""Snapshots (120x40, fixed clock and data) of every screen and dialog. Each SVG under
__snapshots__ has been looked at: it is a picture of what users see."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cockpit.app import CockpitApp
from cockpit.engine.runner.loop import RunnerLock
from cockpit.engine.workspace.layout import Workspace
from tui.conftest import SIZE, reads_settled

Snap = Callable[..., bool]


async def settled(pilot: Any, group: str) -> None:
    """Wait for the app's workers of `group` (never the queue watcher, which runs on)."""
    await pilot.pause()
    workers = [w for w in pilot.app.workers if w.group == group]
    if workers:  # an empty list would mean "every worker", the endless queue watcher too
        await pilot.app.workers.wait_for_complete(workers)
    await pilot.pause()


def pressing(*steps: str | tuple[str, ...]) -> Callable[[Any], Any]:
    """Press each step's keys, then wait for the screens' store reads, so what a screen
    read in a worker is on it before the next keys and the picture."""

    async def run(pilot: Any) -> None:
        for keys in steps:
            await pilot.press(*((keys,) if isinstance(keys, str) else keys))
            await reads_settled(pilot)

    return run


AppFor = Callable[..., CockpitApp]


def test_board(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), terminal_size=SIZE)


def test_board_needs_attention(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["a"], terminal_size=SIZE)


def test_board_filter(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    press = ["slash", *"state:in_progress,dispatched", "enter"]
    assert snap_compare(app_for(demo_ws), press=press, terminal_size=SIZE)


def test_empty_workspace(snap_compare: Snap, empty_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(empty_ws), terminal_size=SIZE)


def test_follower_header(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    lock = RunnerLock(demo_ws).acquire()
    demo_ws.lock_path.write_text(json.dumps({"pid": 4242, "host": "ops-1"}))
    try:
        assert snap_compare(app_for(demo_ws), terminal_size=SIZE)
    finally:
        lock.release()


def test_readonly_header(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws, readonly=True), terminal_size=SIZE)


def test_hostile_text_board(snap_compare: Snap, hostile_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(hostile_ws), terminal_size=SIZE)


def test_hostile_text_work_package(
    snap_compare: Snap, hostile_ws: Workspace, app_for: AppFor
) -> None:
    run = pressing("enter", "right")
    assert snap_compare(app_for(hostile_ws), run_before=run, terminal_size=SIZE)


def test_work_package_lineage(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("down", "enter")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_work_package_packets(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("enter", "right")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_work_package_verify(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("down", "enter", "right", "right")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_work_package_audit(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("down", "enter", "right", "right", "right")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_stepper_at_a_verify(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("down", "l", "G", "p")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_stepper_at_a_packet(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    run = pressing("l", "n", "n", "n", "n", "n", "n")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_audit_chain(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    async def settle(pilot: object) -> None:
        await pilot.press("A")  # type: ignore[attr-defined]
        await reads_settled(pilot)
        await settled(pilot, "audit-verify")

    assert snap_compare(app_for(demo_ws), run_before=settle, terminal_size=SIZE)


def test_metrics(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), run_before=pressing("M"), terminal_size=SIZE)


def test_rejected(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), run_before=pressing("R"), terminal_size=SIZE)


def test_rejected_raw_file(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(
        app_for(demo_ws), run_before=pressing("R", "down", "enter"), terminal_size=SIZE
    )


def test_help(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["question_mark"], terminal_size=SIZE)


# -- dialogs: on WP-0004 (dispatched) or the WP each verb makes sense for -------------------


def test_dispatch_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """On WP-0005 (booked): a dispatched WP is refused before any dialog opens."""
    assert snap_compare(app_for(demo_ws), press=["G", "up", "d"], terminal_size=SIZE)


def test_recover_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["down", "r"], terminal_size=SIZE)


def test_review_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["e"], terminal_size=SIZE)


def test_override_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["down", "o"], terminal_size=SIZE)


def test_override_confirmation(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    async def fill(pilot: object) -> None:
        from textual.widgets import Input, Select

        p: object = pilot
        await p.press("down", "o")  # type: ignore[attr-defined]
        screen = p.app.screen  # type: ignore[attr-defined]
        screen.query_one("#to", Select).value = "accepted"
        screen.query_one("#reason", Input).value = "merged by hand after review"
        await p.press("ctrl+s")  # type: ignore[attr-defined]

    assert snap_compare(app_for(demo_ws), run_before=fill, terminal_size=SIZE)


def test_cancel_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["G", "c"], terminal_size=SIZE)


def test_rollback_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """Rollback on a failed WP: the dialog says what happens to the branch and asks why."""

    async def fail_then_rollback(pilot: object) -> None:
        from cockpit.engine.actions import human as actions

        p: object = pilot
        app = p.app  # type: ignore[attr-defined]
        actions.override(app.ws, app.store, "WP-0002", "failed", "set up", "human:owner")
        app.poll()
        await p.press("down", "b")  # type: ignore[attr-defined]

    assert snap_compare(app_for(demo_ws), run_before=fail_then_rollback, terminal_size=SIZE)


def test_veto_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["down", "x"], terminal_size=SIZE)


def test_dismiss_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(demo_ws), press=["down", "z"], terminal_size=SIZE)


def test_verify_result_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """The gate run from the TUI on WP-0002 after its recovery and a new claim would
    admit; here the WP is blocked, so verify is refused: the result modal is shown for a
    verify on a claimed WP set up by an override to claimed."""

    async def verify(pilot: object) -> None:
        from cockpit.engine.actions import human as actions

        p: object = pilot
        app = p.app  # type: ignore[attr-defined]
        actions.override(app.ws, app.store, "WP-0002", "claimed", "re-check", "human:owner")
        app.poll()
        await p.press("down", "v")  # type: ignore[attr-defined]
        await settled(pilot, "action")

    assert snap_compare(app_for(demo_ws), run_before=verify, terminal_size=SIZE)


def test_board_on_a_small_terminal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """80x24: tier, age and cost give way; the overridden mark stays beside the state."""
    from cockpit.engine.actions import human as actions

    with demo_ws.open_store() as store:
        actions.override(demo_ws, store, "WP-0003", "accepted", "merged by hand", "human:owner")
    assert snap_compare(app_for(demo_ws), terminal_size=(80, 24))


# -- canon: candidates, the Canon Gate's checks, canon search --------------------------------


async def canon_settled(pilot: Any) -> None:
    """Wait for the canon screen's preview and search workers (a preview asked for while
    another ran starts when that one ends, so wait until nothing is left)."""
    for _ in range(100):
        await settled(pilot, "canon-preview")
        await settled(pilot, "canon-search")
        if not getattr(pilot.app.screen, "busy", False):
            return
    raise AssertionError("the canon screen kept working")


def test_canon_screen(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """CAND-0001 selected: every Canon Gate check satisfied for human:owner."""

    async def settle(pilot: object) -> None:
        await pilot.press("C")  # type: ignore[attr-defined]
        await canon_settled(pilot)

    assert snap_compare(app_for(demo_ws), run_before=settle, terminal_size=SIZE)


def test_canon_screen_secrets(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """CAND-0002 selected: its record shown redacted, the redaction check unsatisfied."""

    async def settle(pilot: object) -> None:
        await pilot.press("C")  # type: ignore[attr-defined]
        await canon_settled(pilot)
        await pilot.press("down")  # type: ignore[attr-defined]
        await canon_settled(pilot)

    assert snap_compare(app_for(demo_ws), run_before=settle, terminal_size=SIZE)


def test_canon_search(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """CAND-0001 commissioned by human:reviewer, then found by a search, with provenance."""

    async def search(pilot: object) -> None:
        from cockpit.engine.canon import candidates as canon

        p: object = pilot
        app = p.app  # type: ignore[attr-defined]
        canon.commission(app.ws, app.store, "CAND-0001", "human:reviewer")
        app.poll()
        await p.press("C")  # type: ignore[attr-defined]
        await canon_settled(pilot)
        await p.press("slash", *"pagination", "enter")  # type: ignore[attr-defined]
        await canon_settled(pilot)

    assert snap_compare(app_for(demo_ws), run_before=search, terminal_size=SIZE)


# -- signing: the key asked for once per session (SPEC 10.1) ---------------------------------

OWNER_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINHaD+gZ8rMN3JbpRFomdLTWtag2f7M8y1qvFZpYsraC owner@laptop"
)


def signatures_required(ws: Workspace) -> Workspace:
    """The demo under `signatures: required`, the owner with a (fixed) public key."""
    path = ws.root / "cockpit.yaml"
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("  human:owner:") and "{" in line and "keys:" not in line:
            line = line.replace("{", f'{{keys: ["{OWNER_KEY}"], ', 1)
        if line.strip().startswith("signatures:"):
            continue
        lines.append(line)
        if line == "policy:":
            lines.append("  signatures: required")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Workspace.load(ws.root)


def test_signing_key_modal(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """An override confirmed with no key in ssh-agent or $COCKPIT_SIGNING_KEY: the key file
    is asked for (once per session)."""
    ws = signatures_required(demo_ws)

    async def override(pilot: Any) -> None:
        from textual.widgets import Input, Select

        from cockpit.screens.modals import SigningKeyModal

        await pilot.press("down", "o")
        screen = pilot.app.screen
        screen.query_one("#to", Select).value = "accepted"
        screen.query_one("#reason", Input).value = "merged by hand after review"
        await pilot.press("ctrl+s", "y")
        for _ in range(100):
            await settled(pilot, "signing")
            if isinstance(pilot.app.screen, SigningKeyModal):
                return
        raise AssertionError("the key was not asked for")

    assert snap_compare(app_for(ws), run_before=override, terminal_size=SIZE)
