"""Regression tests: one (or a few) per bug that was fixed, each on a real workspace.

Every test here fails on the code before its fix (the docstring names what it pins) and
passes on the fixed code. Where a test needs a runner that is busy (a gate run in
progress, a FIFO that could block a read) it runs the sweep in a thread with a join
timeout, so a regression shows up as a failure, not as a hung test run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult, Env, clean_env, cockpit_cmd, entry, t, work_package
from engine.gate.test_gate import (
    GOOD_EVIDENCE,
    Flow,
    admitted,
    commit_all,
    git,
    make_repo,
    scoped_flow,
    stopped_on,
    verdicts,
)

HANG_LIMIT_S = 10.0


@pytest.fixture(autouse=True)
def _no_ambient_principal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Actions default to $COCKPIT_PRINCIPAL, then the operator: start from the operator."""
    monkeypatch.delenv("COCKPIT_PRINCIPAL", raising=False)
    monkeypatch.delenv("COCKPIT_WORKSPACE", raising=False)
    yield


# -- helpers --------------------------------------------------------------------------------


def unblock_fifos(paths: list[Path]) -> None:
    """Open each FIFO for writing and close it, so a reader blocked in open() gets EOF."""
    for path in paths:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            continue
        os.close(fd)


def in_thread(
    fn: Callable[[], Any], timeout: float, unblock: Callable[[], None] | None = None
) -> Any:
    """Run `fn` in a daemon thread; fail (after trying to unblock it) if it is still running
    after `timeout` seconds. Re-raises what `fn` raised; returns what it returned."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        thread.join(5)
        pytest.fail(f"still running after {time.monotonic() - started:.1f} s (it blocked)")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def reason(env: Env, name: str) -> dict[str, Any]:
    return json.loads((env.rejected_dir / f"{name}.reason.json").read_text(encoding="utf-8"))


def rejected_rows(env: Env) -> list[dict[str, Any]]:
    result = env.cli("rejected", "--json")
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = result.json()
    return rows


def count_events(env: Env, kind: str) -> int:
    return sum(1 for e in env.events() if e.type == kind)


def edit_config(env: Env, *edits: tuple[str, str]) -> None:
    """Apply (old, new) replacements to cockpit.yaml (each `old` must be there), reload."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    env.reload()


def kill_leftovers(workspace: Path) -> None:
    """SIGKILL processes whose environment names `workspace` as COCKPIT_WORKSPACE: only the
    validation commands a runner of this test started can carry it."""
    marker = f"COCKPIT_WORKSPACE={workspace}".encode()
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_dir.name), signal.SIGKILL)


# -- 1, 2: files in queue/new that are not regular files ---------------------------------


def test_a_fifo_in_the_queue_is_rejected_without_blocking_the_sweep(env: Env) -> None:
    """sweep.read_entry_file: a FIFO is refused from its lstat, never opened for a read
    that would wait for a writer forever."""
    fifo = env.new / "pipe.yaml"
    os.mkfifo(fifo)
    past = time.time() - 5
    os.utime(fifo, (past, past))
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    queue = [env.ws.queue_dir(d) / "pipe.yaml" for d in ("new", "cur", "rejected")]
    summary = in_thread(env.sweep, HANG_LIMIT_S, lambda: unblock_fifos(queue))
    assert summary.sweep.rejected == 1, summary.sweep.log
    assert summary.sweep.ingested == 1, summary.sweep.log
    assert env.wp("WP-1") is not None
    why = reason(env, "pipe.yaml")
    assert why["code"] == "parse_error"
    assert "not a regular file" in why["message"]
    assert not os.path.lexists(fifo)
    [row] = rejected_rows(env)
    assert (row["file"], row["code"]) == ("pipe.yaml", "parse_error")


def test_a_symlink_to_a_directory_in_the_queue_is_rejected_as_symlink(
    env: Env, tmp_path: Path
) -> None:
    """queue.pending: a symlink to a directory is listed (lstat), so it is rejected as
    `symlink` instead of being skipped like a real directory."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "x.yaml").write_text(work_package("WP-9", created=t(0)))
    link = env.new / "linked.yaml"
    link.symlink_to(target, target_is_directory=True)
    summary = env.single_sweep()
    assert summary.sweep.rejected == 1, summary.sweep.log
    assert reason(env, "linked.yaml")["code"] == "symlink"
    assert (env.rejected_dir / "linked.yaml").is_symlink()
    assert not os.path.lexists(link)
    assert [(r["file"], r["code"]) for r in rejected_rows(env)] == [("linked.yaml", "symlink")]
    assert env.wp("WP-9") is None


# -- 3, 4: awkward file names -----------------------------------------------------------------


def test_a_very_long_name_that_fails_to_parse_is_rejected_once(env: Env) -> None:
    """queue.fit_name: NAME.reason.json must fit in 255 bytes, or the rejection is
    committed but the move fails, and every later sweep rejects the file again."""
    name = "n" * 245 + ".yaml"
    assert len(name) == 250
    garbage = b"this: [is not\n  closed\n"
    env.drop(name, garbage)
    env.drop("zz-valid.yaml", work_package("WP-1", created=t(0)))
    first = env.single_sweep()
    assert (first.sweep.rejected, first.sweep.ingested, first.sweep.errors) == (1, 1, 0), (
        first.sweep.log
    )
    assert env.wp("WP-1") is not None
    names = sorted(os.listdir(env.rejected_dir))
    assert len(names) == 2, names
    kept, reason_name = names
    assert reason_name == kept + ".reason.json"
    assert len(os.fsencode(reason_name)) <= 255
    assert kept.endswith(".yaml") and kept != name
    assert (env.rejected_dir / kept).read_bytes() == garbage
    assert reason(env, kept)["code"] == "parse_error"
    assert os.listdir(env.new) == [] and os.listdir(env.ws.queue_dir("cur")) == []
    events = len(env.events())
    second = env.single_sweep()
    assert second.sweep.counts() == dict.fromkeys(second.sweep.counts(), 0), second.sweep.log
    assert len(env.events()) == events
    assert count_events(env, "entry_rejected") == 1


def test_a_non_utf8_file_name_is_rejected_and_the_reports_still_work(env: Env) -> None:
    """sweep.display_name: undecodable bytes in a name are escaped before they are stored,
    so `cockpit rejected` and `cockpit audit verify` can still read the store."""
    raw = os.fsencode(env.new) + b"/bad\xff.yaml"
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"\x00\x01 garbage: [\n")
    finally:
        os.close(fd)
    past = time.time() - 5
    os.utime(raw, (past, past))
    env.drop("ok.yaml", work_package("WP-1", created=t(0)))
    summary = env.single_sweep()
    assert (summary.sweep.rejected, summary.sweep.ingested, summary.sweep.errors) == (1, 1, 0), (
        summary.sweep.log
    )
    listing = os.listdir(os.fsencode(env.rejected_dir))
    assert sorted(listing) == [b"bad\xff.yaml", b"bad\xff.yaml.reason.json"]
    [row] = rejected_rows(env)
    assert row["code"] == "parse_error"
    assert row["file"].startswith("bad") and row["file"].endswith(".yaml")
    plain = env.cli("rejected")
    assert plain.code == 0, plain.err
    verify = env.cli("audit", "verify", "--json")
    assert verify.code == 0, verify.err
    assert verify.json()["ok"] is True


# -- 5, 6: `created` ----------------------------------------------------------------------------

BAD_CREATED = [
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-12:00",  # after year 9999 in UTC
    "2026-13-45T10:00:00Z",  # not in the calendar
    "1700000000",  # a number, not a timestamp
    "2026-11-22 10:00:00 +05:00",  # YAML's timestamp syntax, not RFC 3339
]


def test_bad_created_values_are_schema_errors_and_the_runner_keeps_going(env: Env) -> None:
    """entries.Entry._rfc3339: strict RFC 3339 (no YAML timestamp magic), and a moment
    that overflows in UTC is a schema error, not an exception in the sweep."""
    for i, value in enumerate(BAD_CREATED):
        env.drop(f"bad-{i}.yaml", work_package(f"WP-B{i}", created=value))
    env.drop("good.yaml", work_package("WP-OK", created=t(0)))
    summary = env.single_sweep()
    assert summary.sweep.errors == 0, summary.sweep.log
    assert summary.sweep.rejected == len(BAD_CREATED), summary.sweep.log
    assert summary.sweep.ingested == 1, summary.sweep.log
    assert env.wp("WP-OK") is not None
    for i, value in enumerate(BAD_CREATED):
        why = reason(env, f"bad-{i}.yaml")
        assert why["code"] == "schema_error", (value, why)
        assert "created" in why["message"], (value, why)
        assert env.wp(f"WP-B{i}") is None
    assert os.listdir(env.new) == [] and os.listdir(env.ws.queue_dir("cur")) == []


@pytest.mark.parametrize("value", BAD_CREATED)
def test_submit_refuses_a_bad_created_in_one_line(env: Env, tmp_path: Path, value: str) -> None:
    source = tmp_path / "entry.yaml"
    source.write_text(work_package("WP-1", created=value))
    result = env.cli("submit", str(source))
    assert result.code == 2, (result.out, result.err)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "schema_error" in result.err
    assert "Traceback" not in result.err + result.out
    assert os.listdir(env.new) == []


def test_the_first_submitted_version_of_an_id_wins_a_tie_on_created(
    env: Env, tmp_path: Path
) -> None:
    """sweep._QueuedFile.order_key: (created, id) ties are broken by arrival, not by name;
    by name the second copy (x-1.yaml) would sort before x.yaml and win."""
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    first = first_dir / "x.yaml"
    second = second_dir / "x.yaml"
    common = "objective: o\nowner: agent:implementer-1\naccountable: human:owner\n"
    common += "tier: standard\nlane: implementation"
    first.write_text(work_package("WP-1", body=f"title: the first\n{common}", created=t(0)))
    second.write_text(work_package("WP-1", body=f"title: the second\n{common}", created=t(0)))
    assert first.read_bytes() != second.read_bytes()
    assert env.cli("submit", str(first)).code == 0
    time.sleep(0.05)
    assert env.cli("submit", str(second)).code == 0
    assert sorted(os.listdir(env.new)) == ["x-1.yaml", "x.yaml"]
    assert (env.new / "x-1.yaml").read_bytes() == second.read_bytes()
    summary = env.single_sweep()
    assert (summary.sweep.ingested, summary.sweep.rejected) == (1, 1), summary.sweep.log
    wp = env.wp("WP-1")
    assert wp is not None and wp["title"] == "the first"
    why = reason(env, "x-1.yaml")
    assert (why["code"], why["entry_id"]) == ("replay_conflict", "WP-1")
    assert (env.done / "x.yaml").read_bytes() == first.read_bytes()


# -- 7: the gate decides on the facts it records -----------------------------------------------


def test_a_veto_raised_while_validation_runs_is_seen_by_the_gate(env: Env) -> None:
    """verification.run_gate: the WP read before a slow validation is stale by the time the
    verdict is recorded; the gate must re-evaluate on the WP as it is at recording time."""
    flow = Flow(env).ready(validation_commands=["sleep 2"])
    claim_id = flow.claim(sweep=False)
    box: dict[str, Any] = {}

    def sweep() -> None:
        box["summary"] = env.sweep()

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not any(e.entry_id == claim_id for e in env.events("WP-1")):
        assert time.monotonic() < deadline, "the runner did not ingest the claim"
        time.sleep(0.05)
    time.sleep(0.7)  # the gate run (validation: sleep 2) is in progress
    assert not verdicts(env), "the gate finished before the veto could be raised"
    vetoed = env.cli("veto", "WP-1", "--reason", "stop")
    assert vetoed.code == 0, vetoed.err
    thread.join(15)
    assert not thread.is_alive()
    assert "summary" in box
    [started] = [e for e in env.events("WP-1") if e.type == "verify_started"]
    [veto] = [e for e in env.events("WP-1") if e.type == "veto_changed"]
    assert veto.seq < started.seq
    assert flow.state() != "accepted"
    payload = stopped_on(env, "no_veto", "vetoed")
    assert "stop" in payload["predicates"]["no_veto"]["detail"]


# -- 8: advisory ids ----------------------------------------------------------------------------


def test_advisory_ids_of_claims_sharing_a_long_prefix_are_distinct(env: Env) -> None:
    """advisory.advisory_id: `ADV-<full claim id>`; a truncated id made the second claim's
    serious advisory look dismissed once the first one's was."""
    prefix = "CLM-" + "x" * 56
    first_id, second_id = prefix + "AAAA", prefix + "BBBB"
    assert len(first_id) == len(second_id) == 64 and first_id[:60] == second_id[:60]
    flow = Flow(env).book()
    flow.ground()
    flow.evidence(
        [
            *GOOD_EVIDENCE,
            {"class": "local_command_proof", "ref": "t", "command": "make slow", "exit_code": 1},
        ]
    )
    flow.claim(first_id)
    stopped_on(env, "advisories_treated", "advisory_untreated")
    dismissed = env.cli("dismiss", "WP-1", f"ADV-{first_id}", "--reason", "known flaky target")
    assert dismissed.code == 0, dismissed.err
    flow.recovery()
    flow.claim(second_id)
    issued = [e.payload["id"] for e in env.events("WP-1") if e.type == "advisory_issued"]
    assert issued == [f"ADV-{first_id}", f"ADV-{second_id}"]
    payload = stopped_on(env, "advisories_treated", "advisory_untreated")
    assert f"ADV-{second_id}" in payload["predicates"]["advisories_treated"]["detail"]
    assert payload["claim"]["id"] == second_id
    assert flow.state() == "blocked"


# -- 9: git in the worktree ---------------------------------------------------------------------


def test_scope_sees_forbidden_files_whose_names_git_would_quote(env: Env, tmp_path: Path) -> None:
    """verification.changed_files: NUL-separated output with core.quotePath off, so a path
    git would print quoted ("secrets/cl\\303\\251.pem") still matches `secrets/**`."""
    flow, worktree, _ = scoped_flow(env, tmp_path, owned_surfaces=["**"])
    accented = "secrets/clé.pem"
    quoted = 'secrets/a"b.pem'
    (worktree / accented).write_text("committed\n")
    commit_all(worktree, "a key with an accent")
    (worktree / quoted).write_text("untracked\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == sorted([accented, quoted])
    detail = payload["predicates"]["scope_respected"]["detail"]
    assert accented in detail and quoted in detail


def test_the_gate_never_runs_a_repo_configured_fsmonitor(env: Env, tmp_path: Path) -> None:
    """verification._git: `-c core.fsmonitor=` defuses a hook an agent configured in the
    repository; plain git in the same worktree does run it (the control at the end). The
    claim fails on scope_respected: the agent changed the shared config."""
    flow, worktree, _ = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    commit_all(worktree, "in scope")
    marker = tmp_path / "FSMON_RAN"
    git(worktree, "config", "core.fsmonitor", f"touch {marker}")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == ["src/app.py"]
    assert ".git/config" in payload["predicates"]["scope_respected"]["detail"]
    assert not marker.exists(), "the gate ran the repository's fsmonitor hook"
    git(worktree, "status", "--porcelain")  # control: the hook is live for plain git
    assert marker.exists()


# -- 10: a FIFO in the work product -----------------------------------------------------------


def test_a_fifo_in_the_work_product_does_not_hang_the_gate(env: Env) -> None:
    """verification.snapshot/_digest: special files are fingerprinted from lstat."""
    flow = Flow(env).ready(validation_commands=["true"])
    fifo = env.root / "pipe"
    os.mkfifo(fifo)
    flow.claim(sweep=False)
    in_thread(env.sweep, HANG_LIMIT_S, lambda: unblock_fifos([fifo]))
    payload = admitted(env)
    assert [r["exit_code"] for r in payload["validation"]] == [0]
    assert fifo.exists()


# -- 11: a crash between a rejection's commit and its move --------------------------------------


def test_a_rejection_whose_move_was_lost_is_finished_not_replanned(env: Env) -> None:
    """sweep.Sweeper._ingest: an orphan in cur/ with a recorded rejection (same name, same
    hash) is moved to rejected/ again; it is neither re-rejected nor ingested, even though
    it would now be valid."""
    dispatch = entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:implementer-1")
    env.drop("d.yaml", dispatch)
    summary = env.single_sweep()
    assert summary.sweep.rejected == 1
    assert reason(env, "d.yaml")["code"] == "unknown_work_package"
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    assert env.single_sweep().sweep.ingested == 1
    # The crash: the event is committed, but the file never left cur/.
    data = (env.rejected_dir / "d.yaml").read_bytes()
    (env.ws.queue_dir("cur") / "d.yaml").write_bytes(data)
    (env.rejected_dir / "d.yaml").unlink()
    (env.rejected_dir / "d.yaml.reason.json").unlink()
    events = len(env.events())
    again = env.single_sweep()
    assert (again.sweep.ingested, again.sweep.rejected, again.sweep.recovered) == (0, 0, 1), (
        again.sweep.log
    )
    assert (env.rejected_dir / "d.yaml").read_bytes() == data
    why = reason(env, "d.yaml")
    assert (why["code"], why["entry_id"]) == ("unknown_work_package", "DSP-1")
    assert os.listdir(env.ws.queue_dir("cur")) == []
    assert len(env.events()) == events
    assert count_events(env, "entry_rejected") == 1
    assert count_events(env, "dispatched") == 0
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"
    assert len(rejected_rows(env)) == 1


# -- 12: damaged checkpoint ---------------------------------------------------------------------


def test_a_damaged_checkpoint_fails_audit_verify(booked_to_in_progress: Env) -> None:
    """checkpoint.checkpoints: an unreadable checkpoint is a failure, not skipped."""
    env = booked_to_in_progress
    assert env.cli("audit", "checkpoint", "--json").code == 0
    intact = env.cli("audit", "verify", "--json")
    assert intact.code == 0 and intact.json()["ok"] is True, intact.out
    (env.ws.checkpoints_dir / "00000005.json").write_bytes(b"\x00{not json at all")
    broken = env.cli("audit", "verify", "--json")
    assert broken.code == 1, (broken.out, broken.err)
    document = broken.json()
    assert document["ok"] is False
    assert document["first_bad_seq"] is not None
    assert "00000005.json" in document["reason"]


# -- 13: cockpit demo --fresh -------------------------------------------------------------------


def test_demo_fresh_deletes_only_a_demo_it_created(
    booked_to_in_progress: Env, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """cli demo: `--fresh` deletes the directory only when its marker says `cockpit demo`
    created it."""
    env = booked_to_in_progress
    refused = cli("demo", str(env.root), "--fresh")
    assert refused.code == 2, (refused.out, refused.err)
    assert refused.err.strip()
    assert (env.root / "cockpit.yaml").is_file()
    assert (env.root / ".cockpit" / "cockpit.db").is_file()
    assert env.wp("WP-1") is not None

    demo = tmp_path / "demo"
    made = cli("demo", str(demo))
    assert made.code == 0, made.err
    assert (demo / "cockpit.yaml").is_file()
    scratch = demo / "scratch.txt"
    scratch.write_text("left by a previous session\n")
    again = cli("demo", str(demo), "--fresh")
    assert again.code == 0, again.err
    assert not scratch.exists()
    assert (demo / "cockpit.yaml").is_file()
    assert (demo / ".cockpit" / "cockpit.db").is_file()
    refused_again = cli("demo", str(env.root), "--fresh")
    assert refused_again.code == 2


# -- 14: SIGTERM during validation --------------------------------------------------------------


def test_sigterm_during_validation_exits_promptly_and_records_no_verdict(env: Env) -> None:
    """runner/verification: shutdown interrupts the validation command, and the abandoned
    gate run is not recorded (the WP stays claimed for the next runner)."""
    flow = Flow(env).ready(validation_commands=["sleep 30"])
    claim_id = flow.claim(sweep=False)
    proc = subprocess.Popen(
        cockpit_cmd("run", "--workspace", str(env.root)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=env.root.parent,
        env=clean_env(),
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not any(e.entry_id == claim_id for e in env.events("WP-1")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the runner did not ingest the claim"
            time.sleep(0.1)
        time.sleep(1.5)  # the gate's `sleep 30` is running
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=HANG_LIMIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("the runner did not exit within 10 s of SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        kill_leftovers(env.root)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(r.get("log") == "stop" for r in records), out
    assert flow.state() == "claimed"
    assert not verdicts(env)
    assert not [e for e in env.events("WP-1") if e.type == "verify_started"]


# -- 15: refusals of recover and override -------------------------------------------------------


def test_recover_and_override_refusals(booked_to_in_progress: Env) -> None:
    """actions.recover / override / resolve_principal: an unknown recovery owner is an input
    error; an override must change the state and may not enter `verifying` (only the gate
    does); `--as ''` names no principal."""
    env = booked_to_in_progress
    moved = env.cli("override", "WP-1", "--to", "blocked", "--reason", "set up the test")
    assert moved.code == 0, moved.err
    before = len(env.events())
    nobody = env.cli("recover", "WP-1", "--owner", "agent:nobody", "--next-action", "x")
    assert nobody.code == 2, (nobody.out, nobody.err)
    assert "agent:nobody" in nobody.err
    same = env.cli("override", "WP-1", "--to", "blocked", "--reason", "again")
    assert same.code == 1, (same.out, same.err)
    verifying = env.cli("override", "WP-1", "--to", "verifying", "--reason", "skip the gate")
    assert verifying.code == 2, (verifying.out, verifying.err)
    empty = env.cli("cancel", "WP-1", "--reason", "by nobody", "--as", "")
    assert empty.code == 1, (empty.out, empty.err)
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "blocked"
    assert len(env.events()) == before


# -- 16: booking and dispatch checks ------------------------------------------------------------

OTHER_PRINCIPAL = "  agent:verifier:      {roles: [verifier]}\n"
LANES = "lanes:                           # how the runner launches the agent of a lane"


def test_rollback_plan_lanes_and_lane_of_the_dispatch_target(env: Env) -> None:
    """ingest: a deep WP needs a rollback plan, a WP's lane must be declared, and a dispatch
    target must serve the WP's lane."""
    edit_config(
        env,
        (OTHER_PRINCIPAL, OTHER_PRINCIPAL + "  agent:other: {roles: [worker], lanes: [other]}\n"),
        (LANES, 'lanes:\n  other:\n    command: ["true"]\n#'),
    )
    deep = """
        title: Deep without a rollback plan
        objective: o
        owner: agent:implementer-1
        accountable: human:owner
        tier: deep
        lane: implementation
        validation_commands: ["true"]
    """
    nowhere = """
        title: On an undeclared lane
        objective: o
        owner: agent:implementer-1
        accountable: human:owner
        tier: standard
        lane: nowhere
    """
    env.drop("a.yaml", work_package("WP-DEEP", body=deep, created=t(0)))
    env.drop("b.yaml", work_package("WP-LANE", body=nowhere, created=t(1)))
    env.drop("c.yaml", work_package("WP-1", created=t(2)))
    env.drop(
        "d.yaml", entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:other", created=t(3))
    )
    summary = env.single_sweep()
    assert (summary.sweep.ingested, summary.sweep.rejected) == (1, 3), summary.sweep.log
    codes = {r["entry_id"]: r["code"] for r in rejected_rows(env)}
    assert codes == {
        "WP-DEEP": "schema_error",
        "WP-LANE": "schema_error",
        "DSP-1": "capability_denied",
    }
    assert "rollback_plan" in reason(env, "a.yaml")["message"]
    assert "nowhere" in reason(env, "b.yaml")["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"
    assert env.wp("WP-DEEP") is None and env.wp("WP-LANE") is None


# -- 17: config -----------------------------------------------------------------------------------

DEEP_TIER = (
    "  deep:     {evidence_floor: runtime_proof, require_diagnostic_review: true, "
    "require_rollback_plan: true}\n"
)


def test_a_partial_tier_entry_keeps_the_tiers_defaults(env: Env) -> None:
    """config.Config._tier_defaults: `deep: {evidence_floor: runtime_proof}` does not drop
    deep's diagnostic review."""
    edit_config(env, (DEEP_TIER, "  deep: {evidence_floor: runtime_proof}\n"))
    assert env.ws.config.tiers["deep"].require_diagnostic_review is True  # type: ignore[index]
    flow = Flow(env)
    flow.book(tier="deep", validation_commands=["true"], rollback_plan="git revert the merge")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    flow.claim()
    payload = stopped_on(env, "escalation_path", "escalation_missing")
    assert payload["missing_packet_type"] == "review"


def test_a_config_without_runner_verifier_is_refused(env: Env) -> None:
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    line = "  verifier: agent:verifier\n"
    assert line in text
    path.write_text(text.replace(line, ""), encoding="utf-8")
    result = env.cli("status", "--json")
    assert result.code == 2, (result.out, result.err)
    assert "runner.verifier" in result.err
    assert len(result.err.strip().splitlines()) == 1


# -- 18: the environment of validation commands ------------------------------------------------


def test_validation_commands_do_not_inherit_the_runners_secrets(env: Env) -> None:
    """verification.validation_env: an allow-list (PATH, HOME, ...), not the runner's whole
    environment."""
    flow = Flow(env).ready(
        validation_commands=[
            'test -z "$AWS_SECRET_ACCESS_KEY"',
            'test -z "$COCKPIT_TEST_SECRET"',
            'test -n "$PATH"',
        ]
    )
    flow.claim(sweep=False)
    done = subprocess.run(
        cockpit_cmd("run", "--once", "--json", "--workspace", str(env.root)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=env.root.parent,
        stdin=subprocess.DEVNULL,
        env=clean_env(COCKPIT_TEST_SECRET="s3cret", AWS_SECRET_ACCESS_KEY="AKIA-not-real"),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["admitted"] == 1, done.stdout
    payload = admitted(env)
    assert [r["exit_code"] for r in payload["validation"]] == [0, 0, 0]


def test_shadow_runner_verifies_a_claim_once_not_in_a_loop(env: Env) -> None:
    """A WP overridden into `claimed` (no new claim) is verified once per mode."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    assert env.cli("override", "WP-1", "--to", "claimed", "--reason", "re-check").code == 0
    config = env.root / "cockpit.yaml"
    config.write_text(config.read_text().replace("mode: live", "mode: shadow"))
    env.reload()
    for _ in range(3):
        env.sweep()
    verifies = [e for e in env.events("WP-1") if e.type == "verify_completed"]
    assert [v.payload["outcome"] for v in verifies] == ["skipped"]


# -- 20: from the server guide's trial run ------------------------------------------------------


def test_a_store_written_by_a_newer_cockpit_is_refused_not_downgraded(env: Env) -> None:
    """store.db: an older Cockpit must not rewrite a newer store's schema version."""
    env.sweep()
    with sqlite3.connect(env.ws.db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    result = env.cli("status", "--json")
    assert result.code == 1
    assert "newer Cockpit" in result.err and "99" in result.err
    with sqlite3.connect(env.ws.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_run_json_needs_once(env: Env) -> None:
    """cli run: `--json` without `--once` is a usage error, not silently ignored."""
    result = env.cli("run", "--json")
    assert result.code == 2
    assert "--once" in result.err and len(result.err.strip().splitlines()) == 1


def test_a_long_running_dry_run_logs_planned_events_without_seqs(env: Env) -> None:
    """runner.run_logged: a dry run's events are rolled back, so they are logged as the
    plan (`planned_event`, no seq), never as history."""
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    done = subprocess.run(
        cockpit_cmd("run", "--mode", "dry-run", "--workspace", str(env.root)),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    planned = [r for r in records if r["log"] == "planned_event"]
    assert [r["type"] for r in planned] == ["task_created"]
    assert "seq" not in planned[0]
    assert not [r for r in records if r["log"] == "event"]
    assert env.events() == []


def test_validation_commands_find_the_runners_interpreter_first(env: Env) -> None:
    """verification.validation_env: `python3` in a booked validation command is the
    runner's interpreter (as for agents), whatever PATH the service has."""
    here = Path(sys.executable).parent
    flow = Flow(env).ready(
        validation_commands=[f'test "$(dirname "$(command -v python3)")" = "{here}"']
    )
    flow.claim()
    payload = admitted(env)
    assert payload["validation"][0]["exit_code"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repo another owner")
def test_a_target_repo_git_will_not_use_is_named_with_gits_reason(env: Env, tmp_path: Path) -> None:
    """worktrees.provision: a repo owned by another user is refused by git ("dubious
    ownership"); the WP is flagged with git's reason, not a misleading one."""
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True)
    Flow(env).book(target_repo=str(repo), owned_surfaces=["src/**"])
    failed = [e for e in env.events("WP-1") if e.type == "worktree_failed"]
    assert failed and all("dubious ownership" in e.payload["error"] for e in failed)
    wp = env.wp("WP-1")
    assert wp is not None and "dubious ownership" in wp["agent_problem"]
    # Tried again when the WP moves on or after a while, not on every run (a cron job).
    env.sweep()
    env.sweep()
    again = [e for e in env.events("WP-1") if e.type == "worktree_failed"]
    assert len(again) == len(failed)
