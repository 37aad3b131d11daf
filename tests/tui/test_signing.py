"""The TUI signs the owner's actions (SPEC 10.1, issue 11 point 1): with the principal's key
from ssh-agent or $COCKPIT_SIGNING_KEY, else a private key file asked for once per session;
another principal's key or a passphrase-protected one is refused with a notification and
records nothing; under `optional`, a principal without keys acts unsigned without being
asked. And the header's trust notes (SPEC 10.3): agents unsandboxed, sandbox off,
signatures optional. Real workspaces, real ssh-keygen keys, real signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.keys import Signed, make_key, now_stamp, public_line
from helpers.workspace import Env, edit_config, work_package
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input

from cockpit.app import CockpitApp
from cockpit.engine.config.ssh_keys import parse_public_key
from cockpit.engine.repo.sandbox import Availability, availability
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens import modals
from cockpit.screens.board import BoardScreen
from cockpit.screens.canon import CanonScreen
from cockpit.screens.signing import short
from cockpit.screens.status_bar import StatusBar
from cockpit.store.events import utc_now
from tui.conftest import fixed_clock, make_app
from tui.test_pilot import choose, drive, notes, select_row, type_into, wait_until

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    """A workspace under `signatures: required` with WP-1 booked by the owner's signed
    entry; every principal has a real key in cockpit.yaml."""
    signed = Signed(env, tmp_path / "keys")
    signed.drop(
        "wp.yaml",
        work_package("WP-1", created=now_stamp(-60), extra=signed.header()),
        "human:owner",
    )
    assert env.sweep().sweep.ingested == 1
    return signed


def app_on(ws: Workspace, **kwargs: object) -> CockpitApp:
    return make_app(ws, clock=utc_now, **kwargs)  # signed actions: the runner's real clock


async def idle(pilot: Pilot[None]) -> None:
    """Wait until no signing look-up and no action runs."""
    for _ in range(50):
        await pilot.pause()
        busy = [
            w for w in pilot.app.workers if w.group in ("signing", "action") and not w.is_finished
        ]
        if not busy:
            await pilot.pause()
            return
        await pilot.app.workers.wait_for_complete(busy)
    raise AssertionError("signing and actions kept running")


async def override(pilot: Pilot[None], to: str, reason: str) -> None:
    """Override WP-1 through its dialog and the confirmation; wait for what follows."""
    await select_row(pilot, "WP-1")
    await pilot.press("o")
    assert isinstance(pilot.app.screen, modals.OverrideModal)
    await choose(pilot, "#to", to)
    await type_into(pilot, "#reason", reason)
    await pilot.press("ctrl+s")
    assert isinstance(pilot.app.screen, modals.ConfirmModal)
    await pilot.press("y")
    await idle(pilot)


async def give_key(pilot: Pilot[None], key: Path) -> None:
    assert isinstance(pilot.app.screen, modals.SigningKeyModal), pilot.app.screen
    await type_into(pilot, "#path", str(key))
    await pilot.press("enter")
    await idle(pilot)


def header(pilot: Pilot[None]) -> str:
    content = pilot.app.screen.query_one(StatusBar).content
    return content.plain if isinstance(content, Text) else str(content)


def said(app: CockpitApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in notes(app))


def test_an_override_without_a_key_asks_for_one_once_and_is_signed_with_it(
    env: Env, signed: Signed
) -> None:
    app = app_on(env.ws)
    owner_key = signed.keys["human:owner"]
    fingerprint = parse_public_key(public_line(owner_key)).fingerprint
    before = len(env.events())

    async def scenario(pilot: Pilot[None]) -> None:
        assert "no signing key yet" in header(pilot)
        await override(pilot, "blocked", "waiting on a vendor")
        assert isinstance(app.screen, modals.SigningKeyModal), "no key: the key is asked for"
        assert env.events()[before:] == [], "nothing is recorded before it is signed"
        await give_key(pilot, owner_key)
        assert isinstance(app.screen, BoardScreen)
        assert env.wp("WP-1")["state"] == "blocked"  # type: ignore[index]
        assert f"signs {short(fingerprint)}" in header(pilot)
        # A second action in the same session signs with the same key, asking nothing.
        await override(pilot, "cancelled", "not needed after all")
        assert isinstance(app.screen, BoardScreen), "the key was asked for twice"

    drive(app, scenario)
    new = [e for e in env.events()[before:] if e.type == "override_applied"]
    assert [e.payload["transition"]["to"] for e in new] == ["blocked", "cancelled"]
    for event in new:
        signature = event.payload["signature"]
        assert signature["namespace"] == "cockpit-action"
        assert signature["signer"] == fingerprint
        document = signature["signed"]
        assert document["action"] == "override" and document["principal"] == "human:owner"
        sshsig.verify(
            sshsig.parse(signature["sig"]), trust_actions.message(document), "cockpit-action"
        )


def test_another_principals_key_is_refused_and_records_nothing(env: Env, signed: Signed) -> None:
    app = app_on(env.ws)
    before = len(env.events())

    async def scenario(pilot: Pilot[None]) -> None:
        await override(pilot, "accepted", "merged by hand")
        await give_key(pilot, signed.keys["agent:implementer-1"])
        assert isinstance(app.screen, BoardScreen)
        assert "is not one of human:owner's keys" in said(app)
        assert "Traceback" not in said(app)
        # The wrong key was not remembered: the next action asks again.
        await override(pilot, "accepted", "merged by hand")
        assert isinstance(app.screen, modals.SigningKeyModal)
        await pilot.press("escape")
        await idle(pilot)
        assert "nothing was recorded" in said(app)

    drive(app, scenario)
    assert len(env.events()) == before
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked" and not wp["overridden"]


def test_a_passphrase_protected_key_is_refused_with_a_pointer_to_ssh_agent(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    locked = tmp_path / "locked_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(locked)],
        check=True,
        timeout=60,
    )
    app = app_on(env.ws)
    before = len(env.events())

    async def scenario(pilot: Pilot[None]) -> None:
        await override(pilot, "accepted", "merged by hand")
        await give_key(pilot, locked)
        assert isinstance(app.screen, BoardScreen)
        assert "protected by a passphrase" in said(app)
        assert "ssh-agent" in said(app)

    drive(app, scenario)
    assert len(env.events()) == before


def test_cockpit_signing_key_signs_without_asking(
    env: Env, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCKPIT_SIGNING_KEY", str(signed.keys["human:owner"]))
    app = app_on(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await override(pilot, "blocked", "waiting on a vendor")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    event = env.events("WP-1")[-1]
    assert event.type == "override_applied"
    assert event.payload["signature"]["namespace"] == "cockpit-action"


def test_under_optional_a_principal_without_keys_acts_unsigned_without_being_asked(
    env: Env,
) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=now_stamp(-60)))
    assert env.sweep().sweep.ingested == 1
    app = app_on(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        assert "unsigned allowed" in header(pilot)
        await override(pilot, "blocked", "waiting on a vendor")
        assert isinstance(app.screen, BoardScreen), "a key was asked for under optional"

    drive(app, scenario)
    event = env.events("WP-1")[-1]
    assert event.type == "override_applied"
    assert event.payload["signature"] == {"unsigned": True}


def test_under_optional_with_keys_the_owner_may_choose_to_act_unsigned(
    env: Env, signed: Signed
) -> None:
    edit_config(env, ("signatures: required", "signatures: optional"))
    app = app_on(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await override(pilot, "blocked", "waiting on a vendor")
        assert isinstance(app.screen, modals.SigningKeyModal)
        await pilot.click("#unsigned")
        await idle(pilot)
        await override(pilot, "cancelled", "not needed after all")
        assert isinstance(app.screen, BoardScreen), "asked again after choosing unsigned"

    drive(app, scenario)
    overrides = [e for e in env.events("WP-1") if e.type == "override_applied"]
    assert [e.payload["signature"] for e in overrides] == [{"unsigned": True}] * 2


# -- the header's trust notes (SPEC 10.3) ---------------------------------------------------


def sandbox_mode(env: Env, mode: str) -> Workspace:
    edit_config(env, ("runner:\n", f"runner:\n  sandbox: {mode}\n"))
    return env.ws


def header_of(app: CockpitApp) -> str:
    seen: list[str] = []

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: app.sandbox is not None, 30)
        await pilot.pause()
        seen.append(header(pilot))

    drive(app, scenario)
    return seen[0]


def test_auto_without_a_working_bubblewrap_says_agents_run_unsandboxed(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox plane's own probe, on a PATH without bwrap."""
    empty = tmp_path / "no-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    ws = sandbox_mode(env, "auto")
    assert "agents run UNSANDBOXED" in header_of(make_app(ws, sandbox_probe=availability))


def test_auto_with_bubblewrap_says_nothing_of_the_sandbox(env: Env) -> None:
    shown = header_of(make_app(sandbox_mode(env, "auto")))
    assert "UNSANDBOXED" not in shown and "sandbox" not in shown


def test_required_without_bubblewrap_says_agents_are_refused(env: Env) -> None:
    def broken(mode: str) -> Availability:
        return Availability("none", None, "bubblewrap cannot make a sandbox here")

    shown = header_of(make_app(sandbox_mode(env, "required"), sandbox_probe=broken))
    assert "no sandbox: agents refused" in shown


def test_sandbox_off_is_said_in_the_header(env: Env) -> None:
    app = make_app(sandbox_mode(env, "off"))
    seen: list[str] = []

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.pause()
        seen.append(header(pilot))

    drive(app, scenario)
    assert "sandbox off: agents run unconfined" in seen[0]


def test_signatures_required_has_no_optional_note(env: Env, signed: Signed) -> None:
    shown = header_of(make_app(env.ws))
    assert "unsigned allowed" not in shown
    assert "no signing key yet" in shown


def test_the_key_dialog_needs_a_path(env: Env, signed: Signed) -> None:
    app = app_on(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await override(pilot, "blocked", "x")
        screen = app.screen
        assert isinstance(screen, modals.SigningKeyModal)
        assert not screen.query("#unsigned"), "under required there is no unsigned way out"
        assert screen.query_one("#path", Input).has_focus
        await pilot.press("enter")
        assert app.screen is screen
        assert "Name the private key file." in str(screen.query_one("#problem").content)  # type: ignore[attr-defined]

    drive(app, scenario)


def test_commission_on_the_canon_screen_is_signed(demo_ws: Workspace, tmp_path: Path) -> None:
    """Commissioning goes through the same signer: the reviewer has a key in cockpit.yaml
    (signatures optional), so it is asked for once and signs both events."""
    key = make_key(tmp_path / "keys", "reviewer")
    path = demo_ws.root / "cockpit.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  human:reviewer:") and "{" in line:
            lines[i] = line.replace("{", f'{{keys: ["{public_line(key)}"], ', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = Workspace.load(demo_ws.root)
    app = make_app(ws, principal="human:reviewer")
    before = len(events_of(ws))

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("C")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CanonScreen), 5)
        screen = app.screen
        assert await wait_until(pilot, lambda: not screen.busy, 10)  # type: ignore[attr-defined]
        await pilot.press("m", "y")
        await idle(pilot)
        await give_key(pilot, key)
        assert app.screen is screen

    drive(app, scenario)
    new = events_of(ws)[before:]
    assert [e.type for e in new] == ["canon_gate_evaluated", "candidate_commissioned"]
    for event in new:
        signature = event.payload["signature"]
        assert signature["namespace"] == "cockpit-action"
        assert signature["signed"]["action"] == "commission"


def events_of(ws: Workspace) -> list[Any]:
    with ws.open_store(fixed_clock) as store:
        return store.events()
