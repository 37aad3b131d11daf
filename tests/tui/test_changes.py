"""The Changes tab driven as a person would (SPEC 11.1, 11.2, 11.3), on real workspaces, real
git repositories and real SQLite: a 20,000-line diff scrolled to its end and back; a
comment on a line of an accepted WP sent with a `revision_required` review (one signed
action; the WP goes back to its agent, the review event holds the comment with its code);
drafts kept across leaving the screen, edited and deleted; a WP with no target repo says
why; the deliver confirmation showing the plan, then the delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.delivery import complete_wp
from helpers.gate import scoped_flow
from helpers.git import commit_all, git
from helpers.keys import make_key, public_line
from helpers.workspace import Env, edit_config
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.engine.repo.diff import DiffLine
from cockpit.screens import modals
from cockpit.screens.changes.diff_view import DiffView
from cockpit.screens.changes.view import ChangesView
from cockpit.screens.work_package import WorkPackageScreen
from cockpit.store import Event
from tui.conftest import drive, make_app, reads_settled
from tui.test_pilot import choose, notes, settled, type_into

LINES = 20_000


def ruler(app: Any) -> str:
    return str(app.screen.query_one("#changes-ruler", Static).render())


def shown_row(diff: DiffView, y: int) -> str:
    return "".join(segment.text for segment in diff.render_line(y))


async def open_changes(pilot: Pilot[None], wp_id: str = "WP-1") -> ChangesView:
    app: Any = pilot.app
    app.open_work_package(wp_id)
    await reads_settled(pilot)
    await pilot.press("6")
    await reads_settled(pilot)
    assert isinstance(app.screen, WorkPackageScreen)
    return app.screen.query_one(ChangesView)


def events_of(env: Env, kind: str) -> list[Event]:
    return [e for e in env.events("WP-1") if e.type == kind]


def test_a_20000_line_diff_scrolls_to_its_end_and_back(env: Env, tmp_path: Path) -> None:
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/big.py").write_text("".join(f"value_{n} = {n}\n" for n in range(1, LINES + 1)))
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        view = await open_changes(pilot)
        diff = view.diff
        assert app.focused is diff
        assert diff.file is not None and diff.file.path == "src/big.py"
        assert len(diff.rows) == LINES + 1  # the hunk's header, then every line
        height = diff.size.height
        assert "value_1 = 1" in shown_row(diff, 1)
        assert "row 1 of 20,001" in ruler(app)

        await pilot.press("end")
        await pilot.pause()
        assert diff.cursor == LINES
        last = diff.current
        assert isinstance(last, DiffLine) and last.new_line == LINES
        assert round(diff.scroll_offset.y) == LINES + 1 - height  # the end in view
        assert shown_row(diff, height - 1).strip().startswith(f"{LINES} + value_{LINES} =")
        assert "row 20,001 of 20,001" in ruler(app) and "line 20,000 (new)" in ruler(app)

        await pilot.press("pageup")
        await pilot.pause()
        assert diff.cursor == LINES - (height - 1)
        await pilot.press("up", "up")
        await pilot.pause()
        assert f"line {LINES - height - 1:,} (new)" in ruler(app)

        await pilot.press("home")
        await pilot.pause()
        assert diff.cursor == 0 and round(diff.scroll_offset.y) == 0
        assert "@@ -0,0 +1,20000 @@" in shown_row(diff, 0)
        await pilot.press("pagedown")
        await pilot.pause()
        assert diff.cursor == height - 1
        assert f"line {height - 1:,} (new)" in ruler(app)

    drive(app, scenario)


def test_the_change_is_shown_as_data(env: Env, tmp_path: Path) -> None:
    """Markup, ANSI escapes and a bidi override in a line and a file name are shown as
    what they are, never acted on."""
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    name = "src/\u202eevil.py"
    (worktree / name).write_text("x = '[bold red]PWNED[/] \x1b[31mred\x1b[0m'\n")
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        view = await open_changes(pilot)
        row = shown_row(view.diff, 1)
        assert "[bold red]PWNED[/] \\x1b[31mred\\x1b[0m" in row
        assert "\x1b" not in row and "\u202e" not in ruler(app)
        assert "src/\\u202eevil.py" in ruler(app)
        listed = "".join(s.text for s in view.files.render_line(0))
        assert "src/\\u202eevil.py" in listed and "\u202e" not in listed

    drive(app, scenario)


def test_a_wp_without_a_target_repo_says_so(env: Env) -> None:
    env.drop("wp.yaml", booking_without_repo())
    env.single_sweep()
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        view = await open_changes(pilot)
        assert view.change is None
        assert view.problem == "WP-1 has no target repo, so there is no change to show"
        head = str(app.screen.query_one("#changes-head", Static).render())
        assert view.problem in head
        await pilot.press("c")  # nothing to comment on: said, nothing opened
        assert not isinstance(app.screen, modals.CommentModal)

    drive(app, scenario)


def booking_without_repo() -> str:
    return """\
        schema: cockpit.entry/v1
        kind: work_package
        id: WP-1
        work_package: WP-1
        principal: human:owner
        created: 2026-11-21T10:00:00Z
        body:
          title: No repo
          objective: o
          owner: agent:implementer-1
          accountable: human:owner
          tier: light
          lane: implementation
        """


@pytest.fixture
def accepted(env: Env, tmp_path: Path) -> Path:
    """WP-1 accepted by the gate: its worktree commits a second line to src/app.py."""
    flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('changed')\n")
    commit_all(worktree, "WP-1: change the app")
    flow.claim()
    assert flow.state() == "accepted"
    return worktree


async def comment_on(pilot: Pilot[None], row: int, text: str) -> None:
    """Put the diff's cursor on `row` and comment there."""
    app: Any = pilot.app
    diff = app.screen.query_one(DiffView)
    await pilot.press("home", *(["down"] * row))
    assert diff.cursor == row
    await pilot.press("c")
    assert isinstance(app.screen, modals.CommentModal)
    await pilot.press(*text)
    await pilot.press("ctrl+s")
    await pilot.pause()


def test_a_comment_goes_back_to_the_agent_with_a_revision_required_review(
    env: Env, accepted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review and its comment are one action, signed with the owner's key."""
    key = make_key(tmp_path / "keys", "owner")
    config = (env.root / "cockpit.yaml").read_text().splitlines()
    line = next(x for x in config if x.startswith("  human:owner:") and "{" in x)
    edit_config(env, (line, line.replace("{", '{keys: ["' + public_line(key) + '"], ', 1)))
    monkeypatch.setenv("COCKPIT_SIGNING_KEY", str(key))
    app = make_app(env.ws)
    [verified] = events_of(env, "verify_completed")[-1:]

    async def scenario(pilot: Pilot[None]) -> None:
        view = await open_changes(pilot)
        diff = view.diff
        assert view.change is not None and view.change.head == verified.payload["head"]
        # rows: @@ header, " print('app')" (line 1), "+print('changed')" (line 2)
        await comment_on(pilot, 2, "Say what changed.")
        assert [d.where for d in app.drafts.of("WP-1")] == ["src/app.py:2"]
        assert "draft: Say what changed." in shown_row(diff, 3)
        await pilot.press("e")
        assert isinstance(app.screen, modals.ReviewModal)
        said = str(app.screen.query_one("#review-comments", Static).render())
        assert "src/app.py:2" in said and "Say what changed." in said
        await choose(pilot, "#verdict", "revision_required")
        await type_into(pilot, "#findings", "see the comment")
        await pilot.press("ctrl+s")
        await settled(pilot)
        await reads_settled(pilot)
        assert app.drafts.count("WP-1") == 0  # sent: drafts no more
        assert "draft:" not in "".join(shown_row(diff, y) for y in range(5))

    drive(app, scenario)
    assert env.wp("WP-1")["state"] == "in_progress"  # type: ignore[index]
    review = events_of(env, "review_recorded")[-1]
    assert review.principal == "human:owner"
    assert review.payload["verdict"] == "revision_required"
    assert review.payload["findings"] == ["see the comment"]
    assert review.payload["head"] == verified.payload["head"]
    [comment] = review.payload["comments"]
    assert {k: comment[k] for k in ("path", "line", "side", "text")} == {
        "path": "src/app.py",
        "line": 2,
        "side": "new",
        "text": "Say what changed.",
    }
    assert comment["context"] == [
        {"line": 1, "text": "print('app')"},
        {"line": 2, "text": "print('changed')"},
    ]
    signed = review.payload["signature"]["signed"]
    assert signed["action"] == "review" and signed["args"]["head"] == verified.payload["head"]
    assert signed["args"]["comments"] == [
        {"path": "src/app.py", "line": 2, "side": "new", "text": "Say what changed."}
    ]


def test_a_comment_the_change_no_longer_shows_is_refused_and_the_draft_stays(
    env: Env, tmp_path: Path
) -> None:
    """Drafted on content never verified; the worktree moves on before the review: the
    engine refuses the review with its sentence, nothing is recorded, the draft stays."""
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('one')\nprint('two')\n")
    app = make_app(env.ws)
    before = len(env.events("WP-1"))

    async def scenario(pilot: Pilot[None]) -> None:
        await open_changes(pilot)
        await comment_on(pilot, 3, "Why two?")  # line 3 of the new side
        (worktree / "src/app.py").write_text("print('app')\n")  # no change left
        await pilot.press("e")
        assert isinstance(app.screen, modals.ReviewModal)
        await choose(pilot, "#verdict", "diagnostic")
        await pilot.press("ctrl+s")
        await settled(pilot)
        [note] = [n for n in notes(app) if n.title == "Review refused"]
        assert "is not on a file of the change of WP-1" in str(note.message)
        assert [d.where for d in app.drafts.of("WP-1")] == ["src/app.py:3"]

    drive(app, scenario)
    assert len(env.events("WP-1")) == before


def test_drafts_outlive_the_screen_and_are_edited_and_deleted(env: Env, accepted: Path) -> None:
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_changes(pilot)
        await comment_on(pilot, 1, "Why keep this?")  # a context line: the new side
        await comment_on(pilot, 3, "Good.")  # the draft on line 1 sits on row 2
        assert [(d.line, d.text) for d in app.drafts.of("WP-1")] == [
            (1, "Why keep this?"),
            (2, "Good."),
        ]
        await pilot.press("escape")  # back to the board, and in again
        view = await open_changes(pilot)
        assert "2 draft comments" in str(app.screen.query_one("#changes-head", Static).render())
        # `c` on the draft's own row edits it
        await pilot.press("home", "down", "down")
        await pilot.press("c")
        assert isinstance(app.screen, modals.CommentModal)
        await pilot.press("end", *" Or drop it.", "ctrl+s")
        await pilot.pause()
        assert app.drafts.get("WP-1", "src/app.py", 1, "new").text == "Why keep this? Or drop it."
        # the list of drafts: enter edits, the box deletes
        listed = view.query_one("#changes-drafts")
        listed.focus()
        await pilot.press("end", "enter")  # the last draft: on line 2
        assert isinstance(app.screen, modals.CommentModal)
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert [d.line for d in app.drafts.of("WP-1")] == [1]
        listed.focus()
        await pilot.press("home", "delete")
        await pilot.pause()
        assert app.drafts.count("WP-1") == 0
        assert not view.query_one("#changes-drafts-box").display

    before = len(env.events("WP-1"))
    drive(app, scenario)
    assert len(env.events("WP-1")) == before  # drafts are not recorded


def test_deliver_shows_the_plan_then_delivers(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = complete_wp(env, tmp_path)
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")  # the board's selected (only) WP
        assert isinstance(app.screen, modals.DeliverModal)
        await settled(pilot, "deliver-read")
        plan = str(app.screen.query_one("#plan", Static).render())
        assert "merge" in plan and f"main (at {target.base[:12]})" in plan
        assert target.head[:12] in plan and "WP-1: change the app" in plan
        assert "grep -q changed src/app.py" in plan  # the validation re-run
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    [delivered] = events_of(env, "delivered")
    assert delivered.payload["via"] == "merge" and delivered.payload["validated"] is True
    assert target.tip() == delivered.payload["merge_sha"]
    assert git(target.repo, "merge-base", "--is-ancestor", target.head, "main") == ""
    said = [str(n.message) for n in notes(app)]
    assert any(s.startswith("WP-1 delivered by merge: main ") for s in said), said


def test_another_way_is_worked_out_again_and_leaving_delivers_nothing(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await settled(pilot, "deliver-read")
        await choose(pilot, "#via", "push")
        await settled(pilot, "deliver-read")
        plan = str(app.screen.query_one("#plan", Static).render())
        assert "via         push" in plan and "origin → refs/heads/wp/WP-1" in plan
        assert "never forced" in plan and "validation" not in plan
        await pilot.press("escape")
        assert not isinstance(app.screen, modals.DeliverModal)

    drive(app, scenario)
    assert events_of(env, "delivered") == [] and events_of(env, "delivery_refused") == []
    assert target.remote_tip("wp/WP-1") is None


def test_a_second_delivery_is_refused_before_the_dialog_opens_a_plan(
    env: Env, tmp_path: Path
) -> None:
    complete_wp(env, tmp_path)
    assert env.cli("deliver", "WP-1", "--as", "human:owner").code == 0
    app = make_app(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await settled(pilot, "deliver-read")
        assert not isinstance(app.screen, modals.DeliverModal)
        [note] = [n for n in notes(app) if n.title == "Deliver refused"]
        assert "was already delivered by merge" in str(note.message)

    drive(app, scenario)
    assert len(events_of(env, "delivered")) == 1
