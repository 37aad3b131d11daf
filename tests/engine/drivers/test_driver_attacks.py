"""Attacks on the agent drivers (SPEC 9.1, 10.2, 10.3) by a hostile agent CLI.

The agent (its CLI and everything it prints) is untrusted. Each test runs the real runner
(`run --once`) on a real workspace with a real git target repository; the lane's CLI is
either a stand-in of tests/standins/bin steered by its flags, or the hostile stand-in
`attack_bins/standin-attack` (it speaks the output format named by `--as`, and does what
each `--attack MODE` asks). Each test proves a defence holds; the holes an attacker's
review found (a CLI installed in the home exposing it, absurd token counts, a FIFO in the
session store, secrets as JSON keys, costs hidden from the budget, links planted in the
home and the private git, lone surrogates, planted settings, `latest` as a session id,
a writable scope stage) are closed, and their tests are here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of, state, worktree_of
from helpers.drivers import calls, drop_scope_confirmed, set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

ATTACK = Path(__file__).resolve().parent / "attack_bins" / "standin-attack"
CHECK = "grep -q 'stand-in' src/standin.txt"
CLI_OF = {"claude-code": "claude", "codex": "codex", "gemini": "gemini", "aider": "aider"}
# A secret Cockpit's own redaction knows (an Anthropic API key's shape); made up.
ANTHROPIC_KEY = "sk-ant-api03-" + "Ab3dEf9hIjK2mNoP" * 5 + "AA"


@pytest.fixture(autouse=True)
def owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runner user's home: never the real one (the driver copies CLI credentials from
    it), holding an owner's secrets and CLI state an agent must never see."""
    home = tmp_path / "owner"
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text('{"token": "OWNER-CLAUDE-TOKEN"}')
    (home / ".claude" / "projects" / "owner-session.jsonl").write_text("owner's session\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("OWNER-SSH-PRIVATE-KEY\n")
    (home / ".local" / "share" / "keyring").mkdir(parents=True)
    (home / ".local" / "share" / "keyring" / "secret").write_text("OWNER-KEYRING-SECRET\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def attack_lane(env: Env, driver: str, *attacks: str, **keys: Any) -> None:
    """Lane `implementation` runs `driver` with the hostile stand-in doing `attacks`
    (each a MODE, or a ready flag such as `--path`)."""
    args: list[str] = ["--as", CLI_OF[driver]]
    words = list(attacks)
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            args.append(word)
            if word in ("--path", "--secret"):
                args.append(words.pop(0))
        else:
            args += ["--attack", word]
    set_driver_lane(env, driver, *args, command=[str(ATTACK)], **keys)


def book(env: Env, tmp_path: Path, **body: object) -> Path:
    repo, _base = new_repo(tmp_path)
    drop_booking(env, repo, **{"validation_commands": [CHECK], **body})
    drop_dispatch(env)
    return repo


def home_of(env: Env, wp: str = "WP-1") -> Path:
    return env.root / ".cockpit" / "agent-home" / wp


def record_text(env: Env) -> str:
    """Every event of the chain, as JSON text."""
    return "\n".join(json.dumps(e.payload, sort_keys=True) for e in env.events())


def guarded(action: Callable[[], Any], seconds: float, unblock: Callable[[], None]) -> bool:
    """Run `action` in a thread; True when it was still blocked after `seconds` (then
    `unblock` is called until it finishes, so the test itself never hangs)."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            action()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    deadline = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < deadline:
        unblock()
        thread.join(0.2)
    return hung


# -- what the agent prints is never run, and never crashes the runner ------------------------


@pytest.mark.parametrize("driver", ["claude-code", "codex"])
def test_a_lone_surrogate_escape_hides_no_output_and_crashes_nothing(
    env: Env, tmp_path: Path, driver: str
) -> None:
    """Attack: one valid JSON line `{"text": "hi \\ud800"}`, then the normal success.
    Defence wanted: the line kept (the surrogate replaced), every later line kept, the run
    concluded on its real result."""
    attack_lane(env, driver, "surrogate")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["exit_code"] == 0
    transcript = env.root / ".cockpit" / "transcripts" / "WP-1" / "1.jsonl"
    assert "Done." in transcript.read_text()
    assert state(env) == "accepted"


def test_deeply_nested_json_does_not_crash_the_runner(env: Env, tmp_path: Path) -> None:
    """Attack: `{"x": [[[[...]]]]}` 5000 levels deep (10 KB, under LINE_MAX), which makes
    json.loads and any recursive walker raise RecursionError. Defence: the line is kept as
    text, the run is concluded and its claim filed."""
    attack_lane(env, "claude-code", "deep")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["exit_code"] == 0
    assert state(env) == "accepted"
    shown = env.cli("logs", "WP-1")
    assert shown.code == 0 and "[[[[" in shown.out


@pytest.mark.parametrize("driver", ["claude-code", "aider"])
def test_binary_invalid_utf8_nul_and_c1_bytes_are_kept_as_visible_text(
    env: Env, tmp_path: Path, driver: str
) -> None:
    """Attack: invalid UTF-8, NUL bytes, an 8-bit CSI (0x9b), OSC 8 hyperlinks and a CR,
    raw and inside a JSON line. Defence: decoded with replacement, stored, never sent to
    the terminal by `cockpit logs`; the run still files its claim."""
    attack_lane(env, driver, "binary", "escapes")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert state(env) == "accepted"
    for args in (("logs", "WP-1"), ("logs", "WP-1", "--run", "1")):
        shown = env.cli(*args)
        assert shown.code == 0, shown.err
        for byte in ("\x1b", "\x9b", "\x00", "\r", "\x07"):
            assert byte not in shown.out, repr(byte)
    rows = env.cli("logs", "WP-1", "--json").json()
    assert not any("\x1b" in row["text"] or "\x9b" in row["text"] for row in rows)


def test_a_line_that_never_ends_does_not_stall_the_runner(env: Env, tmp_path: Path) -> None:
    """Attack: 600 KB with no newline, then exit. Defence: the line's head is kept (cut),
    the run ends as `malformed_output`, nothing is filed."""
    attack_lane(env, "claude-code", "nonewline")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    started = time.monotonic()
    env.sweep()
    assert time.monotonic() - started < 60
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] in ("malformed_output", "no_result")
    assert not events_of(env, "claim_packet_created")


def test_a_daemon_the_cli_leaves_behind_is_gone_before_anything_is_measured(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the CLI double-forks a daemon (its own session) that keeps printing and
    writing the worktree after the CLI exited. Defence: the sandbox's PID namespace dies
    with the run, so nothing writes after the run ends and the measurement is stable."""
    attack_lane(env, "claude-code", "fork")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    log = env.root / ".cockpit" / "agents" / "WP-1" / "1.log"
    size = log.stat().st_size
    time.sleep(2.5)
    assert log.stat().st_size == size
    assert not (worktree_of(env) / "src" / "late.txt").exists()
    assert "daemon still printing" not in log.read_text(errors="replace")


@pytest.mark.parametrize("driver", ["aider", "gemini"])
def test_injected_commands_markup_and_escapes_are_never_run_nor_obeyed(
    env: Env, tmp_path: Path, driver: str
) -> None:
    """Attack: the stand-in's `inject` mode (shell substitutions, Rich markup, raw ANSI in
    aider's plain text, a fake token). Defence: nothing runs, `cockpit logs` shows the
    escapes as text, the token is redacted in the transcript and in the record."""
    pwned = Path("/tmp/standin-pwned")
    pwned.unlink(missing_ok=True)
    set_driver_lane(env, driver, "--standin", "inject", "--standin-edit", "src/standin.txt")
    book(env, tmp_path)
    env.sweep()
    assert state(env) == "accepted"
    assert not pwned.exists() and not list(tmp_path.rglob("PWNED"))
    shown = env.cli("logs", "WP-1")
    assert "\x1b" not in shown.out and "\x07" not in shown.out
    assert "[bold red]markup[/]" in shown.out
    for transcript in (env.root / ".cockpit" / "transcripts" / "WP-1").glob("*.jsonl"):
        assert "ghp_" not in transcript.read_text()
    assert "ghp_" not in record_text(env)


# -- what the driver files ------------------------------------------------------------------


def test_the_scope_stage_files_no_claim_whatever_the_agent_writes(env: Env, tmp_path: Path) -> None:
    """Attack: in the read-only stage the CLI ignores its flags, commits work and drops an
    unsigned claim and evidence straight into its outbox. Defence: the driver files only a
    scope confirmation; the outbox refuses what no run key signed."""
    attack_lane(env, "claude-code", "scope-commit", "outbox-lie", standing_go=False)
    book(env, tmp_path)
    env.sweep()
    # The worktree is read-only in the scope stage: the commit fails, and with it the CLI
    # (or it confirms anyway); either way nothing but a scope confirmation is filed.
    assert state(env) in ("dispatched", "scope_confirmed")
    assert not events_of(env, "claim_packet_created")
    assert not events_of(env, "evidence_packet_created")
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["filing"]["filed"] in ([], ["SCP-WP-1-r1"])
    assert len(exited.payload["outbox"]["refused"]) == 2


def test_the_scope_stage_cannot_move_the_wp_branch(env: Env, tmp_path: Path) -> None:
    """Attack: work committed during the scope stage, before the owner's go. Defence
    wanted: the scope stage's commits are not taken back (or the worktree is read-only)."""
    attack_lane(env, "claude-code", "scope-commit", standing_go=False)
    book(env, tmp_path)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    git = exited.payload.get("git") or {}
    assert git.get("after") in (None, git.get("before"))
    assert not (worktree_of(env) / "src" / "early.txt").exists()


def test_an_agent_that_changed_nothing_files_no_claim(env: Env, tmp_path: Path) -> None:
    """Attack: a CLI that says `success` and changes nothing. Defence: `no_change`, no
    claim."""
    attack_lane(env, "claude-code", "--no-edit")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert not events_of(env, "claim_packet_created")
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "no_change"


def test_evidence_tells_the_real_exit_code_whatever_the_agent_says(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the CLI's change fails the validation command; it drops its own unsigned
    evidence (exit 0) and claim into the outbox and says "Done". Defence: the outbox
    refuses them; the driver's evidence has the measured exit code 1; the gate withholds
    the claim."""
    attack_lane(env, "claude-code", "--bad-edit", "outbox-lie")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [evidence] = events_of(env, "evidence_packet_created")
    proofs = [
        item
        for item in evidence.payload["entry"]["body"]["items"]
        if item["class"] == "local_command_proof"
    ]
    assert [(p["command"], p["exit_code"]) for p in proofs] == [(CHECK, 1)]
    assert evidence.entry_id == "EVD-WP-1-r1"  # the driver's own, measured
    [claim] = events_of(env, "claim_packet_created")
    assert claim.entry_id == "CLM-WP-1-r1"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] != "success"
    assert state(env) != "accepted"


def test_yaml_in_the_agents_words_cannot_file_for_another_wp_or_kind(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent's last words are YAML documents naming WP-2, another kind and the
    owner. Defence: they are a string inside the driver's entry (YAML-escaped); every entry
    is WP-1's, of the stage's kinds, by the agent."""
    attack_lane(env, "claude-code", "yaml")
    book(env, tmp_path)
    env.sweep()
    assert state(env) == "accepted"
    assert env.wp("WP-2") is None
    assert not env.events("WP-2")
    entries = [e for e in env.events("WP-1") if e.payload.get("entry")]
    kinds = {e.payload["entry"]["kind"] for e in entries if e.principal != "human:owner"}
    assert kinds == {"scope_confirmation", "common_ground", "evidence", "claim"}
    assert not list(env.rejected_dir.glob("*.yaml"))


# -- the record and the metrics -------------------------------------------------------------


@pytest.mark.parametrize("driver", ["codex", "aider"])
def test_huge_token_counts_cannot_crash_the_runner(env: Env, tmp_path: Path, driver: str) -> None:
    """Attack: 1100 `turn.completed` of 2**53-1 tokens (codex), 500 `Tokens:` lines of
    ~10**16 (aider). Defence wanted: counts bounded (or None), the exit recorded."""
    attack_lane(env, driver, "tokens")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    usage = exited.payload["usage"]
    assert all(
        usage[k] is None or usage[k] < 1 << 53
        for k in ("input_tokens", "output_tokens", "cache_read_tokens")
    )
    row = env.wp("WP-1")
    assert row is not None and row["tokens"] < 1 << 63


def test_a_secret_printed_as_a_json_key_is_redacted_everywhere(env: Env, tmp_path: Path) -> None:
    """Attack: the CLI prints its API key as a JSON key (`modelUsage: {KEY: …}` and a
    top-level key). Defence wanted: redacted in the transcript and never in the record."""
    attack_lane(env, "claude-code", "modelkey", "--secret", ANTHROPIC_KEY[::-1])
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert ANTHROPIC_KEY not in record_text(env)
    for transcript in (env.root / ".cockpit" / "transcripts" / "WP-1").glob("*.jsonl"):
        assert ANTHROPIC_KEY not in transcript.read_text()


def test_a_secret_printed_as_a_value_never_reaches_the_record(env: Env, tmp_path: Path) -> None:
    """Attack: the CLI shows its API key as its session id and as its model (values).
    Defence: every string value is redacted before the reader sees it, so neither the
    session id nor the model is recorded with it."""
    attack_lane(env, "claude-code", "leakvalues", "--secret", ANTHROPIC_KEY[::-1])
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["usage"]["session_id"]  # the plain one it showed later
    assert ANTHROPIC_KEY not in record_text(env)
    for transcript in (env.root / ".cockpit" / "transcripts" / "WP-1").glob("*.jsonl"):
        assert ANTHROPIC_KEY not in transcript.read_text()


# -- the budget -----------------------------------------------------------------------------


@pytest.mark.parametrize("attack", ["nocost", "negcost", "hugecost"])
def test_a_cli_hiding_its_cost_cannot_spend_past_the_budget(
    env: Env, tmp_path: Path, attack: str
) -> None:
    """Attack: under `budget_usd: 0.01`, the scope run reports no, a negative or an absurd
    cost. Defence wanted: a run of unknown cost under a budget stops further starts."""
    attack_lane(env, "claude-code", attack, budget_usd=0.01)
    book(env, tmp_path)
    env.sweep()
    assert len(calls(env)) == 1
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"].startswith("budget")


def test_a_negative_cost_never_lowers_what_the_wp_has_cost(env: Env, tmp_path: Path) -> None:
    """Attack: the work run reports -5 dollars after a scope run of $0.0106. Defence: the
    negative figure is not recorded, so the projection and metrics keep $0.0106."""
    attack_lane(env, "claude-code", "negcost-work")
    book(env, tmp_path)
    env.sweep()  # scope ($0.0106) and work (-$5)
    usage = [e.payload["usage"]["cost_usd"] for e in events_of(env, "agent_exited")]
    assert usage == ["0.0106", None]
    row = env.wp("WP-1")
    assert row is not None and row["cost_usd"] == "0.0106"
    total = env.cli("metrics", "--json").json()["usage"]["total"]["cost_usd"]
    assert total == "0.0106"


# -- sessions -------------------------------------------------------------------------------


def test_a_session_id_of_latest_is_never_resumed(env: Env, tmp_path: Path) -> None:
    """Attack: Gemini's `init` shows `session_id: latest`. Defence wanted: not recorded
    as resumable; the next run never passes `--resume latest`."""
    attack_lane(env, "gemini", "latest")
    book(env, tmp_path)
    env.sweep()
    work = calls(env)[-1]["argv"]
    assert "--resume" not in work or work[work.index("--resume") + 1] != "latest"
    [first, *_] = [e.payload["usage"] for e in events_of(env, "agent_exited")]
    assert first["session_id"] is None  # `latest` is not an id: nothing to resume by


def test_a_session_id_naming_a_path_is_not_resumed(env: Env, tmp_path: Path) -> None:
    """Attack: the stand-in's `inject` mode shows `../../etc/passwd; touch PWNED` as its
    session id. Defence: not plain, not recorded, never on a command line."""
    set_driver_lane(env, "claude-code", "--standin", "inject", "--standin-edit", "src/standin.txt")
    book(env, tmp_path)
    env.sweep()
    for call in calls(env):
        assert not any("passwd" in a and "touch" in a for a in call["argv"][:-1])


def test_a_fifo_in_the_session_store_does_not_stall_the_runner(env: Env, tmp_path: Path) -> None:
    """Attack: the CLI leaves a FIFO in `~/.claude/projects/`. Defence wanted: the digest
    names it (like `file_digest` does) and the runner goes on."""
    attack_lane(env, "claude-code", "fifo-session")
    book(env, tmp_path)
    drop_scope_confirmed(env)

    def unblock() -> None:
        for fifo in home_of(env).rglob("*.jsonl"):
            if stat.S_ISFIFO(fifo.lstat().st_mode):
                with contextlib.suppress(OSError):
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    hung = guarded(env.sweep, 30, unblock)
    assert not hung, "the runner blocked reading a FIFO in the agent's session store"


# -- links planted by the agent -------------------------------------------------------------


def test_a_link_planted_at_home_dot_cockpit_makes_the_runner_delete_nothing_outside(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the CLI makes `$HOME/.cockpit` a link to a directory outside holding a
    `signing_key`. Defence wanted: the key's clean-up never follows the link."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "signing_key").write_text("another run's key\n")
    (victim / "signing_key.pub").write_text("ssh-ed25519 AAAA another\n")
    attack_lane(env, "claude-code", "keylink", "--path", str(victim))
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert (home_of(env) / ".cockpit").is_symlink()  # the link was planted
    assert (victim / "signing_key").exists() and (victim / "signing_key.pub").exists()


def test_a_link_planted_in_the_private_git_makes_the_runner_write_nothing_outside(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the CLI replaces its private repository's `objects/info` with a link to a
    directory outside. Defence wanted: nothing outside is removed or written."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "alternates").write_text("the victim's own\n")
    attack_lane(env, "claude-code", "gitlink", "--path", str(victim))
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert (victim / "alternates").read_text() == "the victim's own\n"


# -- secrets and the owner's state ----------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "secret"),
    [("bin", ".ssh/id_ed25519"), (".local/bin", ".local/share/keyring/secret")],
)
def test_a_cli_installed_in_the_owners_home_does_not_expose_the_home(
    env: Env, tmp_path: Path, owner: Path, monkeypatch: pytest.MonkeyPatch, where: str,
    secret: str,
) -> None:  # fmt: skip
    """Attack: the lane names no `command`, so `claude` is found on PATH in the owner's
    home (a wrapper at ~/bin/claude, or a pip --user install at ~/.local/bin); the CLI
    reads the owner's secret file. Defence wanted: only the CLI's own directory is bound."""
    folder = owner / where
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ATTACK, folder / "claude")  # a real file, not a link
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    set_driver_lane(
        env, "claude-code", "--as", "claude", "--attack", "read", "--path", str(owner / secret),
        command=[],
    )  # fmt: skip
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    said = (home_of(env) / "read-result.txt").read_text()
    assert said.startswith("READ-DENIED"), said


def test_the_owners_real_cli_state_and_other_homes_are_not_readable(
    env: Env, tmp_path: Path, owner: Path
) -> None:
    """Attack: the CLI (its own directory outside the home) reads the owner's real Claude
    session and ssh key. Defence: the real home is not bound."""
    attack_lane(env, "claude-code", "read", "--path", str(owner / ".ssh" / "id_ed25519"))
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    said = (home_of(env) / "read-result.txt").read_text()
    assert said.startswith("READ-DENIED"), said
    assert "OWNER-SSH" not in record_text(env)


def test_the_agent_cannot_plant_cli_settings_or_memory_for_its_next_runs(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the owner has no ~/.claude/settings.json; the scope run writes one (with a
    hook) and a CLAUDE.md into its home. Defence wanted: neither is there for the next run."""
    attack_lane(env, "claude-code", "settings")
    book(env, tmp_path)
    env.sweep()
    assert len(calls(env)) == 2
    for name in ("settings.json", "CLAUDE.md"):
        planted = home_of(env) / ".claude" / name
        assert not planted.exists() or "PLANTED-BY-AGENT" not in planted.read_text()


def test_the_credential_copy_never_follows_a_link_planted_before_a_new_driver(
    env: Env, tmp_path: Path, owner: Path
) -> None:
    """Attack: a claude-code run plants `~/.codex` -> a directory outside; the owner then
    switches the lane to codex, whose credentials are copied on its first start. Defence:
    the copy is never made through the link."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (owner / ".codex").mkdir()
    (owner / ".codex" / "auth.json").write_text('{"OPENAI_API_KEY": "OWNER-CODEX"}')
    home = home_of(env)
    home.mkdir(parents=True)
    os.symlink(victim, home / ".codex")  # as a claude-code run of the WP left it
    attack_lane(env, "codex")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert events_of(env, "agent_exited")
    assert list(victim.iterdir()) == []
