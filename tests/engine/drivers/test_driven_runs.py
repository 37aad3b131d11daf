"""Agent drivers through the real runner and gate (SPEC 9.1, issue 12).

Each test runs `run --once` on a real workspace with a real git target repository; the
lane's driver starts its CLI's stand-in (tests/standins/bin, a program that accepts the
real CLI's flags and prints its documented output, see tests/standins/README.md) in the
WP's sandbox. Nothing is mocked: the stand-in really edits the worktree, the driver
really measures it, runs the validation commands and files signed entries, and the gate
really decides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of, state
from helpers.drivers import (
    DRIVERS,
    RESUMING,
    calls,
    drop_recovery,
    drop_scope_confirmed,
    prompt_of,
    resumed_id,
    set_driver_lane,
)
from helpers.git import new_repo
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

CHECK = "grep -q 'stand-in' src/standin.txt"


def book(env: Env, tmp_path: Path, **body: object) -> Path:
    repo, _base = new_repo(tmp_path)
    fields = {"validation_commands": [CHECK], **body}
    drop_booking(env, repo, **fields)
    drop_dispatch(env)
    return repo


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_drivers_lane_carries_a_wp_from_dispatch_to_accepted(
    env: Env, tmp_path: Path, driver: str
) -> None:
    # $0.0069 a run: aider prints costs under a cent with all their digits.
    set_driver_lane(env, driver, "--standin-edit", "src/standin.txt", "--standin-cost", "0.0069")
    book(env, tmp_path)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log

    assert state(env) == "accepted"
    started = events_of(env, "agent_started")
    assert [e.payload["stage"] for e in started] == ["dispatched", "in_progress"]
    assert {e.payload["driver"] for e in started} == {driver}
    scope, work = calls(env)
    read_only = {"claude-code": "plan", "codex": "read-only", "gemini": "plan", "aider": "ask"}
    assert read_only[driver] in scope["argv"] and read_only[driver] not in work["argv"]
    assert "SCOPE: CONFIRMED" in prompt_of(driver, scope["argv"])
    assert CHECK in prompt_of(driver, scope["argv"])  # the validation commands are in the brief
    assert "make the change" in prompt_of(driver, work["argv"])

    exits = events_of(env, "agent_exited")
    usage = [e.payload["usage"] for e in exits]
    assert all(u["input_tokens"] and u["output_tokens"] for u in usage), usage
    status = env.cli("status", "WP-1", "--json").json()
    tokens = sum(u["input_tokens"] + u["output_tokens"] for u in usage)
    assert status["tokens"] == tokens
    if driver in ("claude-code", "aider"):
        assert [u["cost_usd"] for u in usage] == ["0.0069", "0.0069"]
        assert status["cost_usd"] == "0.0138"  # the WP's cost so far, on the board too
    else:
        assert [u["cost_usd"] for u in usage] == [None, None]  # the CLI does not say
        assert status["cost_usd"] is None
    if driver in RESUMING:  # the work run resumes the scope run's session, by its id
        assert usage[0]["session_id"] and resumed_id(driver, work["argv"]) == usage[0]["session_id"]
        assert resumed_id(driver, scope["argv"]) is None

    # What was filed is the driver's measurement, signed with the run's agent key.
    [claim] = events_of(env, "claim_packet_created")
    assert claim.payload["signature"]["agent_key"] is True
    [evidence] = events_of(env, "evidence_packet_created")
    items = evidence.payload["entry"]["body"]["items"]
    assert {"class": "source_trace", "ref": "src/standin.txt"}.items() <= items[0].items()
    assert items[-1]["command"] == CHECK and items[-1]["exit_code"] == 0
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] == "success"

    document = env.cli("metrics", "--json").json()["usage"]
    assert document["total"]["runs"] == 2
    assert document["by_lane"]["implementation"]["runs"] == 2
    assert document["cost_per_accepted_wp"]["den"] == 1
    logs = env.cli("logs", "WP-1", "--json")
    assert logs.code == 0, logs.err
    assert {"message", "tool_call", "tool_result"} & {line["kind"] for line in logs.json()}


@pytest.mark.parametrize("driver", RESUMING)
def test_a_blocked_verify_resumes_the_session_with_the_failed_predicate(
    env: Env, tmp_path: Path, driver: str
) -> None:
    """The gate withholds the claim (the evidence floor is above what the driver proves);
    the owner sends the WP back; the agent's own session is resumed by its recorded id
    with the failed predicate as the prompt."""
    set_driver_lane(env, driver, "--standin-edit", "src/standin.txt")
    book(env, tmp_path, evidence_floor="runtime_proof")
    env.sweep()
    assert state(env) == "blocked"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["blocking_predicate"] == "evidence_floor"
    detail = verdict.payload["predicates"]["evidence_floor"]["detail"]
    assert detail in env.cli("status", "WP-1").out  # the owner reads why, not only which
    session = events_of(env, "agent_exited")[-1].payload["usage"]["session_id"]

    drop_recovery(env, 30, next_action="prove it at runtime")
    env.sweep()
    again = calls(env)[-1]["argv"]
    assert resumed_id(driver, again) == session
    text = prompt_of(driver, again)
    assert "evidence_floor" in text and "prove it at runtime" in text
    assert "Objective:" not in text  # a resumed session already holds the brief


def test_a_wp_over_its_budget_is_not_restarted(env: Env, tmp_path: Path) -> None:
    budget = 0.0106  # what the stand-in's scope run costs
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt", budget_usd=budget)
    book(env, tmp_path)
    env.sweep()
    assert len(calls(env)) == 1  # the scope run spent the whole budget
    assert "--max-budget-usd" in calls(env)[0]["argv"]
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "budget_exhausted"
    assert "$0.0106" in failed.payload["error"]
    row = env.wp("WP-1")
    assert row is not None and row["state"] == "in_progress"
    assert "budget_exhausted" in str(row["agent_problem"])
    env.sweep()  # looked at again: still not started, and not recorded twice
    assert len(calls(env)) == 1
    assert len(events_of(env, "agent_failed")) == 1
    # The owner raises the budget: the agent is started at once (resuming its session).
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text().replace(f"budget_usd: {budget}", "budget_usd: 1.0"))
    env.reload()
    env.sweep()
    assert len(calls(env)) == 2 and "--resume" in calls(env)[1]["argv"]
    assert state(env) == "accepted"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("mode", ["fail", "malformed"])
def test_a_cli_that_fails_or_prints_garbage_leaves_the_wp_for_triage(
    env: Env, tmp_path: Path, driver: str, mode: str
) -> None:
    set_driver_lane(env, driver, "--standin", mode, "--standin-edit", "src/standin.txt")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    assert state(env) == "in_progress"
    assert not events_of(env, "claim_packet_created")
    [failed] = events_of(env, "agent_failed")
    # Aider exits 0 whatever happened (docs/agent-cli-formats.md): its run is judged by
    # the worktree, which it left unchanged.
    expected = {"fail": "cli_failed", "malformed": "malformed_output"}[mode]
    assert failed.payload["reason"] == ("no_change" if driver == "aider" else expected)
    row = env.wp("WP-1")
    assert row is not None and failed.payload["reason"] in str(row["agent_problem"])
    # Started once per stage; the owner sends the work back to it (docs/quickstart.md).
    result = env.cli("override", "WP-1", "--to", "failed", "--reason", "its CLI failed")
    assert result.code == 0, result.err
    again = ["--owner", "agent:implementer-1", "--next-action", "try again"]
    result = env.cli("recover", "WP-1", *again)
    assert result.code == 0, result.err
    env.sweep()
    assert [e.payload["stage"] for e in events_of(env, "agent_started")] == [
        "in_progress",
        "recovering",
    ]
    assert "try again" in prompt_of(driver, calls(env)[-1]["argv"])


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_cli_that_floods_its_output_is_stopped(env: Env, tmp_path: Path, driver: str) -> None:
    set_driver_lane(env, driver, "--standin", "flood")
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "output_flood"
    transcript = env.root / ".cockpit" / "transcripts" / "WP-1" / "1.jsonl"
    assert transcript.stat().st_size < 64 << 20
    ending = json.loads(transcript.read_text().splitlines()[-1])
    assert ending["end"]["reason"] == "output_flood"


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_cli_that_hangs_is_stopped_at_the_lane_timeout(
    env: Env, tmp_path: Path, driver: str
) -> None:
    set_driver_lane(env, driver, "--standin", "hang", timeout_s=2)
    book(env, tmp_path)
    drop_scope_confirmed(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["timed_out"] is True
    assert exited.payload["filing"]["reason"] == "timed_out"
    row = env.wp("WP-1")
    assert row is not None and "timed out" in str(row["agent_problem"])


def test_a_missing_cli_is_agent_failed_naming_the_binary(env: Env, tmp_path: Path) -> None:
    set_driver_lane(env, "codex", command=[])
    book(env, tmp_path)
    env.sweep()
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "cli_missing"
    assert "`codex`" in failed.payload["error"]
    assert not events_of(env, "agent_started")


def test_a_tampered_session_is_not_resumed(env: Env, tmp_path: Path) -> None:
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt", standing_go=False)
    book(env, tmp_path)
    env.sweep()  # the scope run; the owner's go is not given yet
    assert state(env) == "scope_confirmed"
    sessions = env.root / ".cockpit" / "agent-home" / "WP-1" / ".claude" / "projects"
    [stored] = list(sessions.rglob("*.jsonl"))
    stored.write_text(stored.read_text() + '{"type":"user","message":"planted"}\n')
    env.drop("go.yaml", "\n".join([
        "schema: cockpit.entry/v1", "kind: review", "id: REV-go", "work_package: WP-1",
        "principal: human:owner", "created: 2026-11-21T10:20:00Z", "body:", "  verdict: go",
    ]) + "\n")  # fmt: skip
    env.sweep()
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "session_tampered"
    assert len(calls(env)) == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_nothing_the_agent_printed_is_run_shown_as_markup_or_kept_secret(
    env: Env, tmp_path: Path, driver: str
) -> None:
    set_driver_lane(env, driver, "--standin", "inject", "--standin-edit", "src/standin.txt")
    book(env, tmp_path)
    env.sweep()
    assert state(env) == "accepted"  # it still did its work
    assert not list(tmp_path.rglob("PWNED"))  # the workspace, the repo, the worktree
    assert not Path("/tmp/standin-pwned").exists()
    for transcript in (env.root / ".cockpit" / "transcripts" / "WP-1").glob("*.jsonl"):
        text = transcript.read_text()
        # (AWS's documented sample key, AKIA…EXAMPLE, is not a secret and stays.)
        assert "ghp_" not in text and "[REDACTED:github_token]" in text
    sessions = [e.payload["usage"]["session_id"] for e in events_of(env, "agent_exited")]
    assert all(s is None or ("/" not in s and ";" not in s) for s in sessions)
    shown = env.cli("logs", "WP-1")
    assert "[bold red]markup[/]" in shown.out  # printed as it was written, never styled
    assert "\x1b" not in shown.out  # terminal escapes are shown, not sent


def test_the_notify_hook_gets_the_event_on_stdin(env: Env, tmp_path: Path) -> None:
    set_driver_lane(env, "claude-code", "--standin", "fail")
    received = tmp_path / "received.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import sys\n"
        f"open({str(received)!r}, 'a').write(sys.stdin.read())\n"
        "open(" + repr(str(tmp_path / "argv.json")) + ", 'w').write(repr(sys.argv))\n"
    )
    path = env.root / "cockpit.yaml"
    command = json.dumps(["python3", str(hook)])
    notify = f"notify:\n  command: {command}\n  reasons: [agent_failed]\n"
    path.write_text(path.read_text() + notify)
    env.reload()
    book(env, tmp_path)
    drop_scope_confirmed(env)
    result = env.cli("run", "--once")
    assert result.code == 0, result.err
    [message] = [json.loads(line) for line in received.read_text().splitlines()]
    assert message["reason"] == "agent_failed"
    assert message["work_package"] == "WP-1"
    assert message["event"]["payload"]["reason"] == "cli_failed"
    assert (tmp_path / "argv.json").read_text() == repr([str(hook)])
