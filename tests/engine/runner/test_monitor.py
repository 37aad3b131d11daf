"""The progress monitor (issue 15) on real workspaces: a stalled WP (seen with a fixed
clock), a WP the gate withholds again and again, an agent failing run after run and a
light WP touching many files are each flagged once, shown as needing attention, counted
in metrics, and cleared by the WP's next progress or a dismissal with a reason."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.gate import OWNER, Flow
from helpers.workspace import Env

from cockpit.engine.runner import monitor as monitor_module
from cockpit.engine.runner.loop import run_forever
from cockpit.engine.runner.monitor import Monitor, duration
from cockpit.store import NewEvent


def set_monitor(env: Env, **settings: int) -> None:
    """Write a `monitor:` section into cockpit.yaml and reload the workspace."""
    path = env.root / "cockpit.yaml"
    lines = "".join(f"  {k}: {v}\n" for k, v in settings.items())
    kept = path.read_text().partition("monitor:\n")[0]  # the section is written last
    path.write_text(kept + "monitor:\n" + lines)
    env.reload()


def flagged(env: Env, wp: str) -> list[dict[str, Any]]:
    return [e.payload for e in env.events(wp) if e.type == "monitor_flagged"]


def open_flags(env: Env, wp: str) -> list[str]:
    row = env.wp(wp)
    assert row is not None
    return [f["flag"] for f in row["monitor_flags"] or []]


def needs_triage(env: Env, wp: str) -> list[str]:
    result = env.cli("status", wp, "--json")
    assert result.code == 0, result.err
    return list(result.json()["needs_triage"])


def scan_at(env: Env, moment: datetime) -> list[Any]:
    with env.store() as store:
        return Monitor(env.ws, store, clock=lambda: moment).scan()


def last_ts(env: Env, wp: str) -> datetime:
    row = env.wp(wp)
    assert row is not None
    return datetime.fromisoformat(row["updated_ts"])


def test_a_stalled_wp_is_flagged_once_and_cleared_by_its_next_progress(env: Env) -> None:
    set_monitor(env, stall_after_s=3600)
    flow = Flow(env).book()  # in_progress; its agent (no command) works on its own
    quiet_since = last_ts(env, "WP-1")
    last_seq = env.wp("WP-1")["last_seq"]  # type: ignore[index]

    assert scan_at(env, quiet_since + timedelta(minutes=59)) == []  # not yet
    [event] = scan_at(env, quiet_since + timedelta(hours=2, minutes=5))
    assert event.type == "monitor_flagged" and event.principal == "cockpit:runner"
    assert event.payload["flag"] == f"stall@{last_seq}"
    assert event.payload["reason"] == "stall"
    assert event.payload["detail"] == (
        f"no event of its own for 2 h 5 min (since seq {last_seq}, while in_progress; "
        "the limit is 60 min)"
    )
    # Flagged once: a later scan, and a runner started afresh, leave it be.
    assert scan_at(env, quiet_since + timedelta(hours=3)) == []
    assert scan_at(env, quiet_since + timedelta(hours=9)) == []
    assert open_flags(env, "WP-1") == [f"stall@{last_seq}"]
    assert env.wp("WP-1")["last_seq"] == last_seq  # type: ignore[index]  # not progress itself
    assert needs_triage(env, "WP-1") == [f"flagged stall@{last_seq}: {event.payload['detail']}"]
    shown = env.cli("status", "WP-1", "--json").json()["monitor_flags"]
    assert shown == [
        {
            "flag": f"stall@{last_seq}",
            "reason": "stall",
            "detail": event.payload["detail"],
            "seq": event.seq,
        }
    ]
    metrics = env.cli("metrics", "--json").json()["monitor"]
    assert metrics["flagged"] == 1 and metrics["open"] == 1
    assert metrics["by_reason"] == {"stall": 1}

    flow.ground()  # progress: an entry of the WP's own
    assert open_flags(env, "WP-1") == []
    assert needs_triage(env, "WP-1") == []
    assert scan_at(env, last_ts(env, "WP-1") + timedelta(minutes=30)) == []
    assert len(flagged(env, "WP-1")) == 1
    assert env.cli("metrics", "--json").json()["monitor"]["open"] == 0
    # Quiet again for long enough after that progress: a new flag, resting on the new seq.
    [again] = scan_at(env, last_ts(env, "WP-1") + timedelta(hours=2))
    assert again.payload["flag"] == f"stall@{env.wp('WP-1')['last_seq']}"  # type: ignore[index]


def test_a_looping_wp_is_flagged_once_by_the_runner_and_cleared_when_admitted(env: Env) -> None:
    set_monitor(env, loop_after=3, stall_after_s=0)
    flow = Flow(env).ready()
    for attempt in range(3):
        if attempt:
            flow.recovery()
        flow.claim(unresolved_questions=["is the limit 3 or 5?"])
        assert flow.state() == "blocked"
    # The runner (`run --once` after each entry) flagged the third withholding verdict.
    [payload] = flagged(env, "WP-1")
    verdicts = [e.seq for e in env.events("WP-1") if e.type == "verify_completed"]
    assert payload["flag"] == f"looping@{verdicts[2]}"
    assert payload["count"] == 3
    assert payload["detail"] == (
        f"the gate withheld its claims 3 times (the last at seq {verdicts[2]})"
    )
    assert open_flags(env, "WP-1") == [payload["flag"]]
    # A recovery is no way out of the loop: the flag stands.
    flow.recovery()
    assert open_flags(env, "WP-1") == [payload["flag"]]
    assert len(flagged(env, "WP-1")) == 1
    flow.claim()  # answered: the gate admits it
    assert flow.state() == "accepted"
    assert open_flags(env, "WP-1") == []
    assert len(flagged(env, "WP-1")) == 1


def test_a_dismissal_with_a_reason_clears_a_flag_and_it_is_not_raised_again(env: Env) -> None:
    set_monitor(env, stall_after_s=600)
    Flow(env).book()
    [event] = scan_at(env, last_ts(env, "WP-1") + timedelta(hours=1))
    flag = event.payload["flag"]

    no_reason = env.cli("dismiss", "WP-1", flag)
    assert no_reason.code == 2 and "reason" in no_reason.err
    unknown = env.cli("dismiss", "WP-1", "stall@999999", "--reason", "x")
    assert unknown.code != 0 and unknown.err
    result = env.cli("dismiss", "WP-1", flag, "--reason", "the owner is on it", "--json")
    assert result.code == 0, result.err
    [dismissed] = result.json() if isinstance(result.json(), list) else [result.json()]
    assert dismissed["type"] == "monitor_dismissed"
    assert dismissed["payload"]["flag"] == flag
    assert dismissed["payload"]["reason"] == "the owner is on it"
    assert open_flags(env, "WP-1") == []
    again = env.cli("dismiss", "WP-1", flag, "--reason", "twice")
    assert again.code == 1 and "no longer open" in again.err
    assert scan_at(env, last_ts(env, "WP-1") + timedelta(hours=5)) == []  # once, ever
    assert env.cli("metrics", "--json").json()["monitor"]["dismissed"] == 1
    replay = env.cli("replay", "--json").json()
    assert replay["match"] is True
    lineage = env.cli("lineage", "WP-1", "--json").json()
    assert {
        "from": f"monitor_dismissed@{dismissed['seq']}",
        "to": f"monitor_flagged@{event.seq}",
        "rel": "dismisses",
    } in lineage["edges"]


def test_agents_failing_in_a_row_are_flagged_and_a_run_that_ends_well_clears_it(
    env: Env,
) -> None:
    set_monitor(env, agent_failures=2, stall_after_s=0)
    Flow(env).book()

    def agent_exit(**payload: Any) -> None:
        with env.store() as store, store.transaction():
            store.append(NewEvent("agent_exited", "WP-1", "cockpit:runner", None, payload))

    with env.store() as store:
        monitor = Monitor(env.ws, store)
        agent_exit(exit_code=1, returned=False)
        assert monitor.scan() == []
        agent_exit(exit_code=0, stopped=True)  # the runner's stop is not the agent failing
        agent_exit(timed_out=True, timeout_s=600)
        [event] = monitor.scan()
        assert event.payload["reason"] == "agent_failing"
        assert event.payload["detail"] == (
            "2 agent runs in a row went wrong; the last: its agent timed out after 600 s"
        )
        assert monitor.scan() == []
    assert open_flags(env, "WP-1") == [event.payload["flag"]]
    agent_exit(exit_code=0, returned=True)
    assert open_flags(env, "WP-1") == []


def test_a_light_wp_whose_change_touches_many_files_is_flagged(env: Env) -> None:
    set_monitor(env, light_max_files=2, stall_after_s=0)
    Flow(env).book(tier="light")
    with env.store() as store:
        with store.transaction():
            store.append(
                NewEvent(
                    "verify_completed",
                    "WP-1",
                    "agent:verifier",
                    None,
                    {"outcome": "blocked", "changed_files": ["a.py", "b.py", "c.py"]},
                )
            )
        [event] = Monitor(env.ws, store).scan()
    assert event.payload["reason"] == "tier_mismatch"
    assert event.payload["limit"] == 2 and event.payload["count"] == 3
    assert "touches 3 files (more than 2" in event.payload["detail"]
    with env.store() as store, store.transaction():
        store.append(
            NewEvent("verify_completed", "WP-1", "agent:verifier", None, {"changed_files": ["a"]})
        )
    assert open_flags(env, "WP-1") == []  # the change narrowed to within the limit


def test_a_closed_wp_is_never_flagged_and_thresholds_of_zero_turn_checks_off(env: Env) -> None:
    set_monitor(env, stall_after_s=0, loop_after=0, agent_failures=0, light_max_files=0)
    Flow(env).book()
    assert scan_at(env, datetime.now(UTC) + timedelta(days=30)) == []
    set_monitor(env, stall_after_s=60)
    assert env.cli("cancel", "WP-1", "--reason", "not needed").code == 0
    assert scan_at(env, datetime.now(UTC) + timedelta(days=30)) == []


def test_durations_are_said_as_a_person_would() -> None:
    assert [duration(s) for s in (5, 119, 120, 7199, 7200, 7500, 2 * 86400 + 3600)] == [
        "5 s",
        "119 s",
        "2 min",
        "119 min",
        "2 h",
        "2 h 5 min",
        "2 d 1 h",
    ]


def test_an_agent_cannot_dismiss_a_flag_raised_on_its_own_work(env: Env) -> None:
    set_monitor(env, stall_after_s=60)
    Flow(env).book()
    [event] = scan_at(env, last_ts(env, "WP-1") + timedelta(hours=1))
    refused = env.cli("dismiss", "WP-1", event.payload["flag"], "--reason", "x", "--as", OWNER)
    assert refused.code == 1 and "dismiss_advisory" in refused.err


def test_a_running_runner_scans_on_its_own_and_flags_once(env: Env) -> None:
    set_monitor(env, stall_after_s=1, scan_s=1)
    Flow(env).book()
    stop = threading.Event()

    def run() -> None:
        with env.store() as store:
            run_forever(env.ws, store, stop, rescan_seconds=0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not flagged(env, "WP-1") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)  # two more scans: nothing new to flag
    finally:
        stop.set()
        thread.join(10)
    [payload] = flagged(env, "WP-1")
    assert payload["reason"] == "stall"


def verdict(env: Env, changed: int, outcome: str = "blocked") -> None:
    """A gate run of WP-1 counting `changed` files, appended as the gate records one."""
    payload = {"outcome": outcome, "changed_files": [f"f{i}.py" for i in range(changed)]}
    with env.store() as store, store.transaction():
        store.append(NewEvent("verify_completed", "WP-1", "agent:verifier", None, payload))


def test_a_tier_mismatch_is_flagged_once_until_a_gate_run_is_within_the_limit(env: Env) -> None:
    set_monitor(env, light_max_files=2, stall_after_s=0, loop_after=0)
    Flow(env).book(tier="light")
    with env.store() as store:
        monitor = Monitor(env.ws, store)
        verdict(env, 5)
        [first] = monitor.scan()
        verdict(env, 6)
        assert monitor.scan() == []  # the same mismatch: one flag
    flag = first.payload["flag"]
    assert env.cli("dismiss", "WP-1", flag, "--reason", "a rename touches many").code == 0
    verdict(env, 7)
    assert Monitor(env.ws, env.store()).scan() == []  # dismissed, and it sticks (a new runner)
    verdict(env, 1)  # within the limit: a later excess is a new mismatch
    verdict(env, 9)
    [second] = Monitor(env.ws, env.store()).scan()
    assert second.payload["reason"] == "tier_mismatch" and second.payload["count"] == 9


def test_a_wp_has_one_open_flag_of_a_reason_at_a_time(env: Env) -> None:
    set_monitor(env, loop_after=1, stall_after_s=0, light_max_files=0)
    Flow(env).book()
    with env.store() as store:
        monitor = Monitor(env.ws, store)
        verdict(env, 0)
        [event] = monitor.scan()
        assert event.payload["detail"].startswith("the gate withheld its claims once (")
        verdict(env, 0)
        assert monitor.scan() == []  # looping@… is open still: no second one
    assert len(open_flags(env, "WP-1")) == 1


def test_flags_that_could_not_be_written_are_raised_by_the_next_scan(env: Env) -> None:
    set_monitor(env, stall_after_s=60)
    Flow(env).book()
    later = last_ts(env, "WP-1") + timedelta(hours=1)

    def broken(_data: bytes) -> dict[str, Any]:
        raise OSError("the signing agent went away")

    with env.store() as store:
        monitor = Monitor(env.ws, store, clock=lambda: later)
        store.signer = broken  # the runner's key cannot sign: nothing is written
        try:
            monitor.scan()
        except OSError:
            pass
        else:
            raise AssertionError("the scan should have failed")
        assert flagged(env, "WP-1") == []
        store.signer = None
        [event] = monitor.scan()
    assert event.payload["reason"] == "stall"


def test_a_stall_limit_beyond_ten_years_is_a_config_error(env: Env) -> None:
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text() + "monitor:\n  stall_after_s: 1000000000000\n")
    result = env.cli("status")
    assert result.code == 2
    assert "monitor.stall_after_s: must be at most 316224000" in result.err


def test_a_large_backlog_is_flagged_over_several_scans(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner started on many WPs quiet for days writes a bounded number of flags per
    scan (here 2) and scans again at once until all are flagged, each once."""
    monkeypatch.setattr(monitor_module, "FLAGS_PER_SCAN", 2)
    set_monitor(env, stall_after_s=60)
    for n in range(1, 6):
        Flow(env, f"WP-{n}").book()
    later = datetime.now(UTC) + timedelta(days=2)
    with env.store() as store:
        monitor = Monitor(env.ws, store, clock=lambda: later)
        sizes = [len(monitor.tick()) for _ in range(4)]
    assert sizes == [2, 2, 1, 0]
    assert sorted(e.work_package for e in env.events() if e.type == "monitor_flagged") == [
        f"WP-{n}" for n in range(1, 6)
    ]
