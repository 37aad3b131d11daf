"""The headless runner as real processes (SPEC 3.1, 7, 8, 9): `cockpit run` killed with
SIGKILL at random moments while entries keep arriving, the one-runner lock, SIGTERM and
SIGINT mid-stream, agents stopped with the runner or lost when it died, and dry-run.

Everything here is a real workspace, real `cockpit` subprocesses, real files written the
way queue writers must (tmp/, fsync, link into new/). Waits are bounded by deadlines that
fail the test on a hang; nothing asserts how fast anything is. Every child process is
killed in `finally`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.process import clean_env, cockpit_cmd
from helpers.workspace import entry, work_package

from cockpit.engine.queue.helper import HELPER_MIN
from cockpit.engine.workspace.scaffold import init_workspace

HANG_LIMIT_S = 20.0
BASE_TIME = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


# -- helpers --------------------------------------------------------------------------------


def created_at(offset_s: int) -> str:
    return (BASE_TIME + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_workspace(root: Path) -> Path:
    return init_workspace(root, tenant="demo").root


def queue_dir(ws: Path, name: str) -> Path:
    return ws / "queue" / name


def names(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.is_dir() else []


def deliver(ws: Path, name: str, data: bytes) -> None:
    """Write an entry the way writers must (SPEC 3.1): create in queue/tmp/, write, fsync,
    link into queue/new/, remove the tmp name."""
    tmp = queue_dir(ws, "tmp") / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, queue_dir(ws, "new") / name)
    finally:
        tmp.unlink()
    fd = os.open(queue_dir(ws, "new"), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stream_entries(count: int) -> list[tuple[str, str, bytes]]:
    """(file name, entry id, bytes): `count` work packages, each followed by a dispatch of
    it to agent:implementer-1, with strictly increasing `created` times."""
    out: list[tuple[str, str, bytes]] = []
    for i in range(1, count + 1):
        wp = f"WP-{i:04d}"
        dsp = f"DSP-{i:04d}"
        out.append(
            (f"{2 * i:04d}-{wp}.yaml", wp, work_package(wp, created=created_at(2 * i)).encode())
        )
        text = entry(
            "dispatch",
            dsp,
            wp,
            "human:owner",
            "to: agent:implementer-1",
            created=created_at(2 * i + 1),
        )
        out.append((f"{2 * i + 1:04d}-{dsp}.yaml", dsp, text.encode()))
    return out


class Feeder:
    """A thread writing a list of entries into the queue in small bursts."""

    def __init__(
        self,
        ws: Path,
        items: list[tuple[str, str, bytes]],
        rng: random.Random,
        burst: tuple[int, int],
        pause: tuple[float, float],
    ) -> None:
        self.ws = ws
        self.items = items
        self.rng = rng
        self.burst = burst
        self.pause = pause
        self.written: list[tuple[str, str, bytes]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            pending = list(self.items)
            while pending and not self.stop.is_set():
                for _ in range(self.rng.randint(*self.burst)):
                    if not pending:
                        break
                    item = pending.pop(0)
                    deliver(self.ws, item[0], item[2])
                    self.written.append(item)
                self.stop.wait(self.rng.uniform(*self.pause))
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def start(self) -> Feeder:
        self.thread.start()
        return self

    def alive(self) -> bool:
        return self.thread.is_alive()

    def finish(self, timeout: float = HANG_LIMIT_S) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the feeder thread hung"
        if self.error is not None:
            raise self.error


class Runner:
    """A `cockpit run` subprocess whose stdout (JSON lines) is read by a thread."""

    def __init__(self, ws: Path, *args: str) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            cockpit_cmd("run", *args, "--workspace", str(ws)),
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            cwd=ws.parent,
            env=clean_env(),
            text=True,
            start_new_session=True,
        )
        self._stderr_text = ""
        self.lines: list[str] = []
        self._eof = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def records(self) -> list[dict[str, Any]]:
        """The JSON-lines records so far (a line cut short by SIGKILL is skipped)."""
        with self._cond:
            lines = list(self.lines)
        out = []
        for line in lines:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def poll_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any] | None:
        """The first record matching `predicate`, or None if the runner ends or `timeout`
        passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if predicate(record):
                            return record
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = HANG_LIMIT_S
    ) -> dict[str, Any]:
        """The first record matching `predicate`; fails if the runner ends or the deadline
        passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if predicate(record):
                            return record
                if self._eof:
                    self.proc.wait(5)
                    pytest.fail(
                        f"the runner ended (exit {self.proc.returncode}) before {what}: "
                        f"stdout {self.lines[-5:]}, stderr {self.stderr()!r}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {what} within {timeout} s: stdout {self.lines[-5:]}")
                self._cond.wait(min(left, 0.5))

    def wait_started(self) -> dict[str, Any]:
        return self.wait_for(lambda r: r.get("log") == "start", "start record")

    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = HANG_LIMIT_S) -> int:
        """Wait for the process to end (failing after `timeout` s) and for its output."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the runner did not exit within {timeout} s")
        self._reader.join(HANG_LIMIT_S)
        return self.proc.returncode

    def stderr(self) -> str:
        if self._stderr.closed:
            return self._stderr_text
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(HANG_LIMIT_S)
        self._reader.join(5)
        with contextlib.suppress(ValueError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        if not self._stderr.closed:
            self._stderr_text = self.stderr()
            self._stderr.close()


@contextlib.contextmanager
def runners(ws: Path) -> Iterator[list[Runner]]:
    """A list to put Runner objects in; every one still alive is SIGKILLed on the way out,
    and so is every process carrying this workspace in its environment (the agents)."""
    started: list[Runner] = []
    try:
        yield started
    finally:
        for runner in started:
            runner.kill()
        kill_leftovers(ws)


def cockpit(ws: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cockpit_cmd(*args, "--workspace", str(ws)),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ws.parent,
        env=clean_env(),
        timeout=timeout,
    )


def cockpit_json(ws: Path, *args: str, timeout: float = 60.0) -> Any:
    result = cockpit(ws, *args, "--json", timeout=timeout)
    assert result.returncode == 0, (args, result.returncode, result.stderr, result.stdout[-2000:])
    return json.loads(result.stdout)


def audit_log(ws: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = cockpit_json(ws, "audit", "log")
    return events


def assert_chain_and_replay(ws: Path) -> list[dict[str, Any]]:
    """`audit verify` ok over every event and `replay` matches; returns the events."""
    events = audit_log(ws)
    report = cockpit_json(ws, "audit", "verify")
    chain = {k: report[k] for k in ("ok", "events", "first_bad_seq", "reason")}
    assert chain == {"ok": True, "events": len(events), "first_bad_seq": None, "reason": None}
    replayed = cockpit_json(ws, "replay")
    assert replayed["match"] is True, replayed
    assert replayed["events"] == len(events)
    return events


def process_state(pid: int) -> str | None:
    """The /proc state letter of `pid` (R, S, Z, ...), or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return process_state(pid) not in (None, "Z", "X")


def agent_pids(ws: Path, wp: str | None = None) -> list[int]:
    """Live processes whose environment names this workspace (and WP): the agents."""
    marks = [f"COCKPIT_WORKSPACE={ws}".encode()]
    if wp is not None:
        marks.append(f"COCKPIT_WORK_PACKAGE={wp}".encode())
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(mark in environ for mark in marks) and alive(int(pid_dir.name)):
            found.append(int(pid_dir.name))
    return found


def kill_leftovers(ws: Path) -> None:
    for pid in agent_pids(ws):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = HANG_LIMIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_events(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Events that carry an entry id, grouped by it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["entry_id"] is not None:
            out.setdefault(event["entry_id"], []).append(event)
    return out


def set_lane_command(ws: Path, command: str, timeout_s: int = 600) -> None:
    """Give (or change) the `implementation` lane's command and timeout."""
    path = ws / "cockpit.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("  implementation:\n")
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    lines[start + 1 : end] = [f"    command: {command}\n", f"    timeout_s: {timeout_s}\n"]
    path.write_text("".join(lines), encoding="utf-8")


# -- 1: SIGKILL at random moments while entries keep arriving -------------------------------


def is_event(record: dict[str, Any]) -> bool:
    return record.get("log") == "event"


def claimed_beyond(ws: Path, before: set[str], timeout: float) -> bool:
    """Wait (polling cur/ every millisecond) until the runner has claimed two files of its
    own into cur/: it is inside a batch. False if it has not within `timeout`."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if len(set(names(queue_dir(ws, "cur"))) - before) >= 2:
            return True
        time.sleep(0.001)
    return False


CRASH_SEED = 20261121
MIN_KILLS = 24
KILL_MODES = ("from-spawn", "after-start", "mid-sweep")


@pytest.mark.parametrize(
    ("wps", "burst", "pause", "backlog", "modes", "min_in_flight", "min_mid_batch", "min_helper"),
    [
        # A trickle: small bursts, mostly batches of a few entries.
        pytest.param(90, (3, 15), (0.2, 0.8), 6, KILL_MODES, 0, 0, 0, id="trickle"),
        # Group commit: bursts of dozens, a backlog of 40 before a kill that waits for the
        # first commit (mid-sweep) or for files claimed into cur/ (mid-batch), so kills land
        # inside batches of many entries (claimed and planned but not committed, or
        # committed but not yet moved out of cur/).
        pytest.param(
            300,
            (20, 60),
            (0.3, 1.0),
            40,
            ("from-spawn", "mid-sweep", "mid-batch", "mid-batch"),
            5,
            3,
            0,
            id="batches",
        ),
        # Sweeps of a hundred files and more, whose file work a helper process does
        # (queue/helper.py): kills land while it claims ahead and moves behind.
        pytest.param(
            900,
            (70, 140),
            (0.3, 0.8),
            HELPER_MIN + 40,
            ("mid-sweep", "mid-sweep", "mid-batch", "from-spawn"),
            5,
            3,
            5,
            id="helper",
        ),
    ],
)
def test_runner_killed_at_random_moments_ingests_every_entry_exactly_once(
    tmp_path: Path,
    record_property: Callable[[str, object], None],
    wps: int,
    burst: tuple[int, int],
    pause: tuple[float, float],
    backlog: int,
    modes: tuple[str, ...],
    min_in_flight: int,
    min_mid_batch: int,
    min_helper: int,
) -> None:
    """SPEC 3.1/7: a runner SIGKILLed again and again while a writer keeps dropping entries
    loses nothing and ingests nothing twice: after a final `run --once`, every entry has
    exactly one event, every WP is dispatched, the chain verifies, replay matches, and every
    file sits in done/. With bursts of dozens the kills land inside batches (group commit):
    several files claimed at once and not yet moved out of cur/."""
    ws = make_workspace(tmp_path / "ws")
    rng = random.Random(CRASH_SEED)
    items = stream_entries(wps)
    feeder = Feeder(ws, items, random.Random(CRASH_SEED + 1), burst=burst, pause=pause)
    kills = 0
    kills_mid_batch = 0  # the runner died with two or more files of its own in cur/
    kills_with_backlog = 0  # entries were waiting in new/ or claimed in cur/ at the kill
    kills_with_orphans = 0  # the runner died between claiming a file and finishing it
    kills_after_events = 0  # the runner had appended events in this life
    kills_with_helper = 0  # the runner started on enough files for its sweep's helper
    recovered = 0  # orphans in cur/ that a later runner logged as recovered
    deadline = time.monotonic() + 60
    with runners(ws) as started:
        feeder.start()
        try:
            while kills < MIN_KILLS or (feeder.alive() and kills < 4 * MIN_KILLS):
                assert time.monotonic() < deadline, f"kill loop hung after {kills} kills"
                mode = rng.choice(modes)
                if mode in ("mid-sweep", "mid-batch"):  # let a backlog build up (bounded)
                    until = time.monotonic() + 2.0
                    while feeder.alive() and len(names(queue_dir(ws, "new"))) < backlog:
                        if time.monotonic() > until:
                            break
                        time.sleep(0.02)
                    if not names(queue_dir(ws, "new")):
                        mode = "from-spawn"  # nothing to sweep: kill at a random moment
                before = set(names(queue_dir(ws, "cur")))
                waiting = len(names(queue_dir(ws, "new"))) + len(before)
                runner = Runner(ws)
                started.append(runner)
                if mode == "after-start":
                    runner.wait_started()
                if mode == "mid-sweep" and runner.poll_for(is_event, 3.0) is not None:
                    time.sleep(rng.uniform(0.0, 0.02))  # while it works through the backlog
                elif mode == "mid-batch" and claimed_beyond(ws, before, 3.0):
                    time.sleep(rng.uniform(0.0, 0.01))  # files claimed: inside the batch
                else:
                    time.sleep(rng.uniform(0.05, 0.6))
                assert runner.proc.poll() is None, (runner.lines[-5:], runner.stderr())
                in_flight = bool(names(queue_dir(ws, "new")) or names(queue_dir(ws, "cur")))
                runner.proc.send_signal(signal.SIGKILL)
                runner.finish()
                assert runner.proc.returncode == -signal.SIGKILL
                kills += 1
                kills_with_backlog += in_flight
                kills_with_orphans += bool(names(queue_dir(ws, "cur")))
                kills_mid_batch += len(set(names(queue_dir(ws, "cur"))) - before) >= 2
                kills_after_events += any(is_event(r) for r in runner.records())
                kills_with_helper += waiting >= HELPER_MIN
                recovered += sum(
                    r.get("recovered", 0) for r in runner.records() if r.get("log") == "sweep"
                )
        finally:
            feeder.finish(timeout=120)
        print(
            f"\nSIGKILLs: {kills}; with entries in flight: {kills_with_backlog}; "
            f"leaving orphans in cur/: {kills_with_orphans}; after appending events: "
            f"{kills_after_events}; inside a batch: {kills_mid_batch}; on a sweep with a "
            f"helper: {kills_with_helper}; orphans recovered by later runners: {recovered}"
        )
        record_property("sigkills", kills)
        record_property("sigkills_mid_batch", kills_mid_batch)
        record_property("sigkills_leaving_orphans", kills_with_orphans)
        assert feeder.written == items
        final = cockpit(ws, "run", "--once", "--json", timeout=120)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["rejected"] == 0 and summary["errors"] == 0, summary

    assert kills >= 20
    # A trickle is ingested within milliseconds of each burst: its kills test recovery at
    # any moment; the bursts of dozens are where kills are made to land in flight.
    assert kills_with_backlog >= min_in_flight, "too few kills landed while entries were in flight"
    # Group commit leaves a trickle's small batches in cur/ only briefly: the bursts of
    # dozens are where kills are made to land between claiming files and finishing them.
    assert kills_with_orphans >= min(min_mid_batch, 1), "no kill left a claimed file in cur/"
    assert kills_after_events >= 5, "too few kills landed after the runner had ingested"
    assert kills_mid_batch >= min_mid_batch, "too few kills landed inside a batch"
    assert kills_with_helper >= min_helper, "too few kills landed on a sweep with a helper"

    # Exactly once: one task_created per WP, one dispatched per dispatch, nothing else
    # carries an entry id, and nothing was rejected.
    events = assert_chain_and_replay(ws)
    assert not [e for e in events if e["type"] == "entry_rejected"]
    by_entry = entry_events(events)
    expected = {
        eid: ("task_created" if eid.startswith("WP-") else "dispatched") for _, eid, _ in items
    }
    assert sorted(by_entry) == sorted(expected)
    types = [e["type"] for e in events]
    assert types.count("task_created") == types.count("dispatched") == wps
    twice = {eid: [e["type"] for e in evs] for eid, evs in by_entry.items() if len(evs) != 1}
    assert not twice, f"entries with more than one event: {twice}"
    for eid, evs in by_entry.items():
        assert evs[0]["type"] == expected[eid], (eid, evs[0]["type"])
        assert evs[0]["payload"]["sha256"] == sha256(dict((i, d) for _, i, d in items)[eid])

    board = cockpit_json(ws, "status")
    assert len(board) == wps
    assert {row["state"] for row in board} == {"dispatched"}, board
    assert {row["assignee"] for row in board} == {"agent:implementer-1"}

    # The queue: nothing waiting, nothing half-claimed, every file kept in done/.
    assert names(queue_dir(ws, "new")) == []
    assert names(queue_dir(ws, "cur")) == []
    assert names(queue_dir(ws, "tmp")) == []
    assert names(queue_dir(ws, "rejected")) == []
    assert names(queue_dir(ws, "done")) == sorted(name for name, _, _ in items)
    for name, _, data in items:
        assert (queue_dir(ws, "done") / name).read_bytes() == data


# -- 2: one runner per workspace --------------------------------------------------------------


def db_fingerprint(ws: Path) -> dict[str, str]:
    """SHA-256 of the database file and its WAL (the bytes a write would change)."""
    out = {}
    for suffix in ("", "-wal"):
        path = ws / ".cockpit" / f"cockpit.db{suffix}"
        out[path.name] = sha256(path.read_bytes()) if path.exists() else "absent"
    return out


def assert_locked_out(result_code: int, stderr: str, holder_pid: int) -> None:
    assert result_code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    sentence = lines[0]
    assert f"pid {holder_pid}" in sentence, sentence
    assert socket.gethostname() in sentence, sentence
    assert sentence.endswith("."), sentence


def test_a_second_runner_is_refused_naming_the_holder_and_changes_nothing(tmp_path: Path) -> None:
    """SPEC 9: one runner per workspace; a second (`--once` or long-running) exits 1 with
    one sentence naming the holder's pid and host, and writes nothing. Once the first is
    stopped, a new runner gets the lock."""
    ws = make_workspace(tmp_path / "ws")
    deliver(ws, "wp.yaml", work_package("WP-1", created=created_at(0)).encode())
    with runners(ws) as started:
        first = Runner(ws)
        started.append(first)
        start = first.wait_started()
        assert start["pid"] == first.pid
        first.wait_for(
            lambda r: r.get("log") == "event" and r.get("type") == "task_created", "WP-1 ingested"
        )
        lock = json.loads((ws / ".cockpit" / "runner.lock").read_text(encoding="utf-8"))
        assert lock == {"pid": first.pid, "host": socket.gethostname(), "agents": True}
        before = db_fingerprint(ws)
        events_before = audit_log(ws)

        once = cockpit(ws, "run", "--once")
        assert_locked_out(once.returncode, once.stderr, first.pid)
        assert once.stdout == ""
        once_json = cockpit(ws, "run", "--once", "--json")
        assert_locked_out(once_json.returncode, once_json.stderr, first.pid)
        document = json.loads(once_json.stdout)
        assert document["exit_code"] == 1 and f"pid {first.pid}" in document["error"]

        second = Runner(ws)
        started.append(second)
        code = second.finish()
        assert_locked_out(code, second.stderr(), first.pid)
        assert not [r for r in second.records() if r.get("log") == "start"], second.lines

        assert db_fingerprint(ws) == before
        assert audit_log(ws) == events_before
        assert first.proc.poll() is None, "the holder must keep running"

        first.send(signal.SIGTERM)
        assert first.finish() == 0, first.stderr()
        assert first.records()[-1]["log"] == "stop"

        again = cockpit(ws, "run", "--once", "--json")
        assert again.returncode == 0, again.stderr
        third = Runner(ws)
        started.append(third)
        assert third.wait_started()["pid"] == third.pid
        lock = json.loads((ws / ".cockpit" / "runner.lock").read_text(encoding="utf-8"))
        assert lock == {"pid": third.pid, "host": socket.gethostname(), "agents": True}
        third.send(signal.SIGTERM)
        assert third.finish() == 0, third.stderr()


# -- 3: SIGTERM / SIGINT while a stream is being ingested ------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_stream_finishes_the_current_entry_and_exits_0(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """SPEC 9: SIGTERM/SIGINT finish the current transaction and exit 0: the last log line
    is `stop`, nothing is left half-claimed in cur/, the chain verifies, and each file in
    done/ is exactly one ingested entry (the rest still wait in new/)."""
    ws = make_workspace(tmp_path / "ws")
    items = stream_entries(150)  # more than gets written before the signal
    feeder = Feeder(ws, items, random.Random(int(sig)), burst=(4, 12), pause=(0.05, 0.15))
    with runners(ws) as started:
        runner = Runner(ws)
        started.append(runner)
        runner.wait_started()
        feeder.start()
        try:
            # Wait until ingest is under way, then for a backlog, then for the sweep of it
            # to begin (a new event), and signal while entries are still arriving.
            runner.wait_for(
                lambda r: is_event(r) and r.get("entry_id") == "DSP-0005",
                "the fifth dispatch ingested",
            )
            wait_until(lambda: len(names(queue_dir(ws, "new"))) >= 8, "a backlog in new/")
            last = max(r["seq"] for r in runner.records() if is_event(r))
            runner.wait_for(lambda r: is_event(r) and r["seq"] > last, "the sweep of the backlog")
            assert feeder.alive(), "the stream ended before the signal"
            runner.send(sig)
            at_signal = set(names(queue_dir(ws, "new")))
            code = runner.finish()
        finally:
            feeder.finish()
    assert code == 0, runner.stderr()
    assert runner.stderr() == ""
    records = runner.records()
    assert len(records) == len(runner.lines), "every stdout line is one JSON record"
    stop = records[-1]
    assert stop["log"] == "stop", runner.lines[-3:]
    assert [r["log"] for r in records].count("stop") == 1

    # Nothing half-written: no claimed file left, no tmp leftovers, nothing rejected.
    assert names(queue_dir(ws, "cur")) == []
    assert names(queue_dir(ws, "tmp")) == []
    assert names(queue_dir(ws, "rejected")) == []
    done, waiting = set(names(queue_dir(ws, "done"))), set(names(queue_dir(ws, "new")))
    written = {name for name, _, _ in feeder.written}
    assert done | waiting == written and not done & waiting
    assert done, "the runner ingested nothing before the signal"
    left = len(at_signal & waiting)
    print(f"\n{sig.name}: {len(done)} ingested; {left} of {len(at_signal)} in new/ left waiting")

    events = assert_chain_and_replay(ws)
    by_entry = entry_events(events)
    data = {name: d for name, _, d in feeder.written}
    ids = {name: eid for name, eid, _ in feeder.written}
    assert sorted(by_entry) == sorted(ids[name] for name in done)
    for name in done:
        evs = by_entry[ids[name]]
        assert len(evs) == 1, (name, evs)
        assert evs[0]["payload"]["sha256"] == sha256(data[name])
        assert (queue_dir(ws, "done") / name).read_bytes() == data[name]
    assert stop["ingested"] == len(done)
    assert stop["duplicates"] == stop["rejected"] == stop["errors"] == 0

    # What was left waiting is ingested by the next runner, once.
    summary = cockpit_json(ws, "run", "--once")
    assert summary["ingested"] == len(waiting) and summary["rejected"] == 0
    events = assert_chain_and_replay(ws)
    assert sorted(entry_events(events)) == sorted(ids.values())
    assert all(len(evs) == 1 for evs in entry_events(events).values())
    assert names(queue_dir(ws, "done")) == sorted(written)


# -- 4: agents and runner shutdown --------------------------------------------------------------


def book_and_dispatch(ws: Path, wp: str = "WP-1") -> None:
    deliver(ws, "a-wp.yaml", work_package(wp, created=created_at(0)).encode())
    dispatch = entry(
        "dispatch", "DSP-1", wp, "human:owner", "to: agent:implementer-1", created=created_at(1)
    )
    deliver(ws, "b-dsp.yaml", dispatch.encode())


def wait_agent_started(runner: Runner, after_seq: int = 0) -> dict[str, Any]:
    """The first `agent_started` record with a seq above `after_seq`."""
    return runner.wait_for(
        lambda r: (
            r.get("log") == "event" and r.get("type") == "agent_started" and r["seq"] > after_seq
        ),
        "an agent_started event",
    )


def agent_pid(ws: Path, wp: str, attempt: int) -> int:
    pid_file = ws / ".cockpit" / "agents" / wp / f"{attempt}.pid"
    wait_until(pid_file.exists, f"the agent's pid file {pid_file.name}")
    pid = int(pid_file.read_text().strip())
    wait_until(lambda: pid in agent_pids(ws, wp), "the agent process with its environment")
    return pid


def test_sigterm_stops_a_running_agent_and_records_it_stopped(tmp_path: Path) -> None:
    """SPEC 9: SIGTERM with an agent running: the runner kills the agent's process group,
    records `agent_exited` with `stopped: true`, and exits 0."""
    ws = make_workspace(tmp_path / "ws")
    set_lane_command(ws, '["sleep", "60"]')
    book_and_dispatch(ws)
    with runners(ws) as started:
        runner = Runner(ws)
        started.append(runner)
        runner.wait_started()
        launch = wait_agent_started(runner)
        pid = agent_pid(ws, "WP-1", 1)
        assert os.getpgid(pid) == pid, "the agent runs in its own process group"
        runner.send(signal.SIGTERM)
        assert runner.finish(timeout=10) == 0, runner.stderr()
        assert not alive(pid), "the agent outlived the runner"
        assert agent_pids(ws, "WP-1") == []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, 0)
            pytest.fail("the agent's process group is still there")
    assert runner.records()[-1]["log"] == "stop"
    events = assert_chain_and_replay(ws)
    exits = [e for e in events if e["type"] == "agent_exited"]
    assert len(exits) == 1, exits
    assert exits[0]["payload"]["launch"] == launch["seq"]
    assert exits[0]["payload"]["stopped"] is True
    assert exits[0]["payload"]["exit_code"] is None
    assert exits[0]["work_package"] == "WP-1"


def test_an_agent_orphaned_by_a_killed_runner_is_recorded_lost_killed_and_restarted(
    tmp_path: Path,
) -> None:
    """SPEC 9: SIGKILL the runner while its agent runs: the agent survives as an orphan;
    the next runner records `agent_exited` with `lost: true`, kills the orphan, and starts
    the agent again. Unsandboxed: a sandboxed agent dies with its runner
    (`--die-with-parent`), so there is no orphan to kill."""
    ws = make_workspace(tmp_path / "ws")
    set_lane_command(ws, '["sleep", "60"]')
    config = ws / "cockpit.yaml"
    config.write_text(config.read_text().replace("runner:\n", 'runner:\n  sandbox: "off"\n'))
    book_and_dispatch(ws)
    with runners(ws) as started:
        runner = Runner(ws)
        started.append(runner)
        runner.wait_started()
        launch = wait_agent_started(runner)
        orphan = agent_pid(ws, "WP-1", 1)
        runner.send(signal.SIGKILL)
        runner.finish()
        time.sleep(0.2)
        assert alive(orphan), "the agent should survive its runner's SIGKILL"

        set_lane_command(ws, '["true"]')
        result = cockpit(ws, "run", "--once", "--json", timeout=60)
        assert result.returncode == 0, result.stderr
        wait_until(lambda: not alive(orphan), "the orphaned agent killed")
        assert agent_pids(ws, "WP-1") == []

    events = assert_chain_and_replay(ws)
    starts = [e for e in events if e["type"] == "agent_started"]
    exits = [e for e in events if e["type"] == "agent_exited"]
    assert starts[0]["seq"] == launch["seq"]
    lost = [e for e in exits if e["payload"].get("launch") == launch["seq"]]
    assert len(lost) == 1, exits
    assert lost[0]["payload"]["lost"] is True
    assert lost[0]["payload"]["killed"] is True
    # ... and the agent is started again after the loss is recorded, and this time ends.
    assert len(starts) == 2, starts
    assert starts[1]["seq"] > lost[0]["seq"]
    assert starts[1]["payload"]["command"] == ["true"]
    again = [e for e in exits if e["payload"].get("launch") == starts[1]["seq"]]
    assert len(again) == 1 and again[0]["payload"]["exit_code"] == 0, again


# -- 5: dry-run changes nothing ------------------------------------------------------------------


def tree_digest(ws: Path) -> dict[str, str]:
    """Every file under the workspace (relative path -> SHA-256; symlinks by target)."""
    out = {}
    for path in sorted(ws.rglob("*")):
        rel = str(path.relative_to(ws))
        if path.is_symlink():
            out[rel] = "symlink:" + os.readlink(path)
        elif path.is_file():
            out[rel] = sha256(path.read_bytes())
        elif path.is_dir():
            out[rel + "/"] = "dir"
    return out


@pytest.mark.parametrize("history", [True, False], ids=["existing-db", "fresh-workspace"])
def test_dry_run_changes_no_file_of_the_workspace(tmp_path: Path, history: bool) -> None:
    """SPEC 9: `run --once --mode dry-run` ingests nothing and changes nothing: the database,
    every queue file, handoffs/ and worktrees/ are byte-identical (or still absent), while
    the plan says what would happen (the dispatch would start the lane's agent)."""
    ws = make_workspace(tmp_path / "ws")
    set_lane_command(ws, '["sleep", "60"]')
    if history:
        deliver(ws, "0-wp.yaml", work_package("WP-0", created=created_at(0)).encode())
        assert cockpit_json(ws, "run", "--once")["ingested"] == 1
    deliver(ws, "1-wp.yaml", work_package("WP-1", created=created_at(10)).encode())
    dispatch = entry(
        "dispatch",
        "DSP-1",
        "WP-1",
        "human:owner",
        "to: agent:implementer-1",
        created=created_at(11),
    )
    deliver(ws, "2-dsp.yaml", dispatch.encode())
    deliver(ws, "3-bad.yaml", b"kind: [unclosed\n")
    os.utime(queue_dir(ws, "new") / "3-bad.yaml", (time.time() - 60, time.time() - 60))
    if history:  # the same bytes again under another name: a duplicate
        deliver(ws, "4-dup.yaml", work_package("WP-0", created=created_at(0)).encode())
    before = tree_digest(ws)  # the runner lock included: a dry run does not take it

    with runners(ws):
        result = cockpit(ws, "run", "--once", "--mode", "dry-run", "--json", timeout=60)
        assert result.returncode == 0, result.stderr
        assert agent_pids(ws) == []
    plan = json.loads(result.stdout)
    assert plan["mode"] == "dry-run"
    outcomes = {item["file"]: item["outcome"] for item in plan["plan"] if "file" in item}
    assert outcomes["1-wp.yaml"] == "ingested" and outcomes["2-dsp.yaml"] == "ingested"
    assert outcomes["3-bad.yaml"] == "rejected"
    if history:
        assert outcomes["4-dup.yaml"] == "duplicate"
    assert any(
        item.get("work_package") == "WP-1" and "start the agent" in item.get("would", "")
        for item in plan["plan"]
    ), plan["plan"]
    assert plan["agents"]["started"] == 0

    after = tree_digest(ws)
    changed = [
        f"{k} ({'created' if k not in before else 'deleted' if k not in after else 'modified'})"
        for k in sorted(before.keys() | after.keys())
        if before.get(k) != after.get(k)
    ]
    assert changed == [], f"dry-run changed {changed}"
    assert not (ws / "handoffs").exists() or not any((ws / "handoffs").rglob("*"))
    assert not (ws / "worktrees").exists()


def test_dry_run_after_a_killed_runner_leaves_its_write_ahead_log_alone(tmp_path: Path) -> None:
    """SPEC 9, after a crash: a runner SIGKILLed with its write-ahead log not yet folded
    into the database leaves cockpit.db-wal behind. A dry run must not fold it (opening the
    real database would): it plans on a scratch copy that includes the log (so it knows
    WP-0, ingested only into the log, and calls the same bytes again a duplicate), and
    every file of the workspace, the -wal and -shm files included, is byte-identical."""
    ws = make_workspace(tmp_path / "ws")
    with runners(ws) as started:
        runner = Runner(ws)
        started.append(runner)
        runner.wait_started()
        deliver(ws, "0-wp.yaml", work_package("WP-0", created=created_at(0)).encode())
        runner.wait_for(lambda r: r.get("type") == "task_created", "the booking")
        runner.kill()
    db = ws / ".cockpit" / "cockpit.db"
    assert Path(f"{db}-wal").exists() and Path(f"{db}-wal").stat().st_size > 0
    deliver(ws, "1-dup.yaml", work_package("WP-0", created=created_at(0)).encode())
    before = tree_digest(ws)

    result = cockpit(ws, "run", "--once", "--mode", "dry-run", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    outcomes = {item["file"]: item["outcome"] for item in plan["plan"] if "file" in item}
    assert outcomes == {"1-dup.yaml": "duplicate"}
    assert tree_digest(ws) == before


def test_run_once_writes_its_json_lines_to_the_log_file(tmp_path: Path) -> None:
    """`run --once --log-file F` appends the same JSON lines as the long-running runner
    (start, every event, stop) to F; an unwritable --log-file exits 2 naming it."""
    ws = make_workspace(tmp_path / "ws")
    deliver(ws, "0-wp.yaml", work_package("WP-0", created=created_at(0)).encode())
    log = tmp_path / "once.log"
    result = cockpit(ws, "run", "--once", "--log-file", str(log))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["log"] for r in records] == ["start", "event", "stop"]
    assert records[1]["type"] == "task_created"
    assert records[2]["ingested"] == 1

    bad = cockpit(ws, "run", "--once", "--log-file", str(tmp_path / "no" / "such" / "dir.log"))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"cockpit: --log-file {tmp_path / 'no' / 'such' / 'dir.log'} cannot be written: "
        "No such file or directory."
    ]
