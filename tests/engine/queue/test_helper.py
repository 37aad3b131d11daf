"""The sweep's helper process (issue 13): a sweep of HELPER_MIN files or more hands its
file work (claims, read-backs, moves) to a real child process running queue/mover.py, and
goes on alone whenever the helper cannot answer (it failed to start, died, or said
something unreadable). Every test runs the real sweep, the real child, real SQLite and the
real file system; what is patched is only how a fault is produced (the program started,
the batch size) or a spy that records and calls through."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers.keys import Signed, now_stamp
from helpers.process import time_bound
from helpers.workspace import Env, entry, rejection_reason, work_package

from cockpit.engine.entries import reader
from cockpit.engine.queue import helper as helper_module
from cockpit.engine.queue import maildir, mover
from cockpit.engine.queue import sweep as sweep_module
from cockpit.engine.queue.helper import HELPER_MIN, Claimed, Helper
from cockpit.engine.queue.helper import SWEEP_FIRST as REAL_SWEEP_FIRST
from cockpit.engine.queue.outcomes import SweepResult
from cockpit.engine.queue.sweep import Sweeper
from cockpit.store import Event

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

WAIT_S = 10.0
HANG_LIMIT_S = 60.0


# -- building blocks ----------------------------------------------------------------------


def at(i: int) -> str:
    """A distinct `created` moment for the i-th of many entries."""
    return f"2026-11-21T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"


def name(i: int) -> str:
    return f"{i:04d}.yaml"


def wp_id(i: int) -> str:
    return f"WP-{i:04d}"


def booking(i: int, title: str = "A task", **kw: Any) -> str:
    body = f"""
        title: {title}
        objective: do the thing
        owner: agent:implementer-1
        accountable: human:owner
        tier: standard
        lane: implementation
    """
    kw.setdefault("created", at(i))
    return work_package(wp_id(i), body=body, **kw)


def drop_bookings(env: Env, count: int) -> None:
    for i in range(count):
        env.drop(name(i), booking(i))


def files(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


def cur(env: Env) -> Path:
    return env.ws.queue_dir("cur")


def ingested_log(count: int) -> list[dict[str, Any]]:
    return [{"file": name(i), "outcome": "ingested", "entry_id": wp_id(i)} for i in range(count)]


def assert_all_ingested_once(env: Env, count: int) -> None:
    """Every booking 0..count-1 has exactly one event, the chain holds, every file is in
    done/ and nothing waits in new/ or cur/."""
    with env.store() as store:
        per_entry = Counter(e.entry_id for e in store.events())
        assert per_entry == Counter(wp_id(i) for i in range(count))
        assert store.work_package_ids() == [wp_id(i) for i in range(count)]
        assert store.verify_chain().ok
    assert files(env.done) == [name(i) for i in range(count)]
    assert files(env.new) == []
    assert files(cur(env)) == []


def swept(sweeper: Sweeper, stop: threading.Event | None = None) -> SweepResult:
    """One real sweep, under a watchdog: a sweep waiting forever on its helper is a
    failure here, not a hung test run."""
    with time_bound(HANG_LIMIT_S, "the sweep"):
        return sweeper.sweep(stop)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.002)


@dataclass
class Spy:
    """What the sweep did with its helper, recorded while the real code runs: every start
    of a helper (argv, and the process or the error), every claim answer the sweep took
    (None: the helper could not answer), every set of move answers."""

    argv: list[list[str]] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    start_errors: list[OSError] = field(default_factory=list)
    claims: dict[str, Claimed | None] = field(default_factory=dict)
    moved: list[list[Any]] = field(default_factory=list)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert len(self.procs) == 1, self.procs
        return self.procs[0]

    def ended(self) -> list[int | None]:
        """Wait for every helper started to end; their exit codes."""
        return [proc.wait(timeout=WAIT_S) for proc in self.procs]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    """Record what helper.py starts (through the real subprocess.Popen) and what its
    Helper answers (through the real methods). The helper is given every file to claim
    (SWEEP_FIRST 0), so that what it says of each can be told apart; the sweep's claiming
    of its first files itself is tested with SWEEP_FIRST as it is."""
    monkeypatch.setattr(helper_module, "SWEEP_FIRST", 0)
    seen = Spy()
    real_popen = subprocess.Popen

    def popen(args: list[str], *a: Any, **kw: Any) -> subprocess.Popen[bytes]:
        seen.argv.append(list(args))
        try:
            proc = real_popen(args, *a, **kw)
        except OSError as exc:
            seen.start_errors.append(exc)
            raise
        seen.procs.append(proc)
        return proc

    # helper.py's own view of subprocess: the module itself, but for Popen.
    proxy = types.ModuleType("subprocess")
    proxy.__dict__.update(vars(subprocess))
    proxy.Popen = popen  # type: ignore[attr-defined]
    monkeypatch.setattr(helper_module, "subprocess", proxy)

    real_claimed, real_moved = Helper.claimed, Helper.moved

    def claimed(self: Helper, file: str) -> Claimed | None:
        got = real_claimed(self, file)
        assert file not in seen.claims, f"{file} claimed twice"
        seen.claims[file] = got
        return got

    def moved(self: Helper) -> list[Any]:
        answers = real_moved(self)
        seen.moved.append(list(answers))  # the caller pads the very list
        return answers

    monkeypatch.setattr(Helper, "claimed", claimed)
    monkeypatch.setattr(Helper, "moved", moved)
    yield seen
    for proc in seen.procs:  # never leave a child behind, whatever the test did
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WAIT_S)


def expected_argv(env: Env, program: str) -> list[str]:
    dirs = [str(env.ws.queue_dir(d)) for d in ("new", "cur", "done", "rejected")]
    return [sys.executable, "-I", "-S", program, *dirs, str(os.getpid())]


def helper_script(tmp_path: Path, body: str) -> Path:
    """A program to run in mover.py's place (by path, `-I -S`, stdlib only)."""
    path = tmp_path / "fake_mover.py"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


# -- 1: the helper does the file work -----------------------------------------------------


def test_a_large_sweep_hands_its_file_work_to_a_real_helper_process(env: Env, spy: Spy) -> None:
    count = 100
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert result.counts() == {
            "ingested": count,
            "duplicates": 0,
            "rejected": 0,
            "retried": 0,
            "recovered": 0,
            "errors": 0,
            "events": count,
        }
        assert result.log == ingested_log(count)
    # One helper, started the documented way, that ended on its own once its input ended.
    assert spy.argv == [expected_argv(env, mover.__file__)]
    assert spy.ended() == [0]
    # It answered every claim (the bytes it read back were the ones parsed) and every move.
    assert list(spy.claims) == [name(i) for i in range(count)]
    assert all(c is not None and c.same and not c.signed for c in spy.claims.values())
    assert spy.claims[name(0)].path == cur(env) / name(0)  # type: ignore[union-attr]
    assert spy.moved == [[0] * count]
    assert_all_ingested_once(env, count)


def test_the_sweep_claims_its_first_files_itself_while_the_helper_starts(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper is often not ready when the parsing ends: the sweep claims the first
    SWEEP_FIRST files itself (the helper is never asked for them) and then the helper
    claims the rest; every file is claimed once, and all are ingested once, in order."""
    monkeypatch.setattr(helper_module, "SWEEP_FIRST", REAL_SWEEP_FIRST)
    assert 0 < REAL_SWEEP_FIRST < HELPER_MIN
    # In order: the sweep's own claims (by maildir.claim, in this process) and the requests
    # the helper is sent. Two processes claiming into cur/ at once could take one name
    # there for two files (a rename replaces): the helper is asked only after.
    said: list[str] = []
    real_claim, real_send = maildir.claim, Helper._send

    def claim(path: Path, cur_dir: Path) -> Any:
        said.append(f"own {path.name}")
        return real_claim(path, cur_dir)

    def send(self: Helper, request: list[Any]) -> None:
        said.append(f"asked {request[0]} {len(request[1])}")
        real_send(self, request)

    monkeypatch.setattr(maildir, "claim", claim)
    monkeypatch.setattr(Helper, "_send", send)
    count = 100
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.errors) == (count, 0), result.log
        assert result.log == ingested_log(count)
    assert said[: REAL_SWEEP_FIRST + 1] == [
        *(f"own {name(i)}" for i in range(REAL_SWEEP_FIRST)),
        "asked claim 32",
    ]
    assert spy.ended() == [0]
    assert list(spy.claims) == [name(i) for i in range(count)]
    assert [n for n, c in spy.claims.items() if c is None] == [
        name(i) for i in range(REAL_SWEEP_FIRST)
    ]
    assert all(c.same for c in spy.claims.values() if c is not None)
    assert spy.moved == [[0] * count]  # every move is still the helper's
    assert_all_ingested_once(env, count)


def test_a_sweep_of_fewer_than_helper_min_files_starts_no_helper(env: Env, spy: Spy) -> None:
    drop_bookings(env, HELPER_MIN - 1)
    with env.store() as store:
        assert swept(Sweeper(env.ws, store)).ingested == HELPER_MIN - 1
    assert spy.argv == [] and spy.claims == {}
    assert_all_ingested_once(env, HELPER_MIN - 1)
    # One file more: exactly HELPER_MIN waiting, a helper is started.
    for i in range(HELPER_MIN - 1, 2 * HELPER_MIN - 1):
        env.drop(name(i), booking(i))
    with env.store() as store:
        assert swept(Sweeper(env.ws, store)).ingested == HELPER_MIN
    assert len(spy.argv) == 1 and spy.ended() == [0]
    assert_all_ingested_once(env, 2 * HELPER_MIN - 1)


def test_a_dry_run_of_a_large_queue_starts_no_helper_and_moves_nothing(env: Env, spy: Spy) -> None:
    count = HELPER_MIN + 10
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store, dry_run=True))
        assert result.ingested == count
        assert store.events() == []
    assert spy.argv == []
    assert files(env.new) == [name(i) for i in range(count)]
    assert files(cur(env)) == files(env.done) == []


# -- 2: signatures travel with the claim and the move -------------------------------------


def test_a_bad_signature_travels_with_its_entry_to_rejected(env: Env, spy: Spy) -> None:
    """Under the default config signatures are optional, but a NAME.sig that is there is
    checked: one that is not a signature rejects the entry (bad_signature). The helper
    claims the entry with its .sig (signed: true), and the rejection moves both."""
    count = 70
    drop_bookings(env, count)
    (env.new / (name(10) + ".sig")).write_bytes(b"not a signature\n")
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.rejected, result.errors) == (count - 1, 1, 0), result.log
        [rejected] = [e for e in store.events() if e.type == "entry_rejected"]
        assert rejected.entry_id == wp_id(10)
        assert store.verify_chain().ok
    got = spy.claims[name(10)]
    assert got is not None and got.signed and got.same
    assert not any(c is not None and c.signed for n, c in spy.claims.items() if n != name(10))
    assert spy.ended() == [0]
    assert files(env.rejected_dir) == [name(10), name(10) + ".reason.json", name(10) + ".sig"]
    assert (env.rejected_dir / (name(10) + ".sig")).read_bytes() == b"not a signature\n"
    assert rejection_reason(env, name(10))["code"] == "bad_signature"
    assert files(env.done) == [name(i) for i in range(count) if i != 10]
    assert files(env.new) == files(cur(env)) == []


@pytest.mark.parametrize("sig", ["a symlink", "too large"])
@pytest.mark.parametrize("entry_name", ["plain.yaml", "caf\udce9.yaml"], ids=["utf-8", "not-utf-8"])
def test_a_signature_that_cannot_be_read_travels_with_its_entry_to_rejected(
    env: Env, spy: Spy, tmp_path: Path, sig: str, entry_name: str
) -> None:
    """A NAME.sig that is not a signature one may read (a symlink; larger than any
    signature) rejects its entry (bad_signature); the helper claims both and the rejection
    moves both, whatever bytes the entry's name holds (a name that is not UTF-8 is one an
    agent's tool may well write)."""
    count = 70
    drop_bookings(env, count)
    env.drop(entry_name, work_package("WP-SIG", created=at(10_000)))
    sig_path = env.new / (entry_name + ".sig")
    if sig == "a symlink":
        (tmp_path / "real.sig").write_bytes(b"not a signature\n")
        sig_path.symlink_to(tmp_path / "real.sig")
    else:
        sig_path.write_bytes(b"x" * (reader.MAX_SIGNATURE_BYTES + 1))
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        others = [r for r in result.log if r["outcome"] != "ingested"]
        assert (result.ingested, result.rejected, result.errors) == (count, 1, 0), others
        assert store.verify_chain().ok
    got = spy.claims[entry_name]
    assert got is not None and got.signed
    assert spy.ended() == [0]
    assert files(env.rejected_dir) == sorted(
        [entry_name, entry_name + ".reason.json", entry_name + ".sig"]
    )
    assert rejection_reason(env, entry_name)["code"] == "bad_signature"
    assert files(env.done) == [name(i) for i in range(count)]
    assert files(env.new) == files(cur(env)) == []


def test_signed_entries_reach_done_with_their_signatures(
    env: Env, spy: Spy, tmp_path: Path
) -> None:
    """`signatures: required` with real ssh-keygen keys: every booking is signed; the
    helper claims each with its NAME.sig and moves both to done/; the ingested events
    carry the verified signature. One entry signed by a key that is not its principal's is
    rejected, its .sig beside it in rejected/."""
    signed = Signed(env, tmp_path / "keys")
    count = 66
    created = now_stamp(-60)
    for i in range(count):
        signer = "agent:verifier" if i == 7 else "human:owner"
        signed.drop(name(i), booking(i, created=created, extra=signed.header()), signer)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.rejected, result.errors) == (count - 1, 1, 0), result.log
        booked = [e for e in store.events() if e.type == "task_created"]
        assert [e.entry_id for e in booked] == [wp_id(i) for i in range(count) if i != 7]
        for event in booked:
            assert "unsigned" not in event.payload["signature"], event.payload["signature"]
            assert event.payload["signature"]["signed"] == event.payload["sha256"]
        assert store.verify_chain().ok
    assert len(spy.argv) == 1 and spy.ended() == [0]
    assert all(c is not None and c.signed and c.same for c in spy.claims.values())
    assert files(env.done) == sorted(
        f for i in range(count) if i != 7 for f in (name(i), name(i) + ".sig")
    )
    assert files(env.rejected_dir) == [name(7), name(7) + ".reason.json", name(7) + ".sig"]
    assert rejection_reason(env, name(7))["code"] == "bad_signature"
    assert files(env.new) == files(cur(env)) == []


# -- 3: rejections in a helper sweep ------------------------------------------------------


def drop_refused(env: Env) -> None:
    """Three files a sweep refuses: one that is not YAML, a dispatch of a WP nobody booked,
    and a replay of 0003.yaml's id with other content."""
    env.drop("garbled.yaml", b"schema: [unclosed\n  : : :\n")
    env.drop(
        "dispatch.yaml",
        entry(
            "dispatch",
            "DSP-1",
            "WP-9999",
            "human:owner",
            "to: agent:implementer-1",
            created=at(20),
        ),
    )
    env.drop("replay.yaml", booking(3, title="Other", created=at(30)))


def test_rejections_in_a_helper_sweep_land_in_rejected_with_their_reasons(
    env: Env, spy: Spy
) -> None:
    count = 70
    drop_bookings(env, count)
    drop_refused(env)
    env.drop("stranger.yaml", work_package("WP-X", principal="human:nobody", created=at(40)))
    env.drop("copy.yaml", booking(50))  # the very bytes of 0050.yaml: a duplicate
    env.rejected_dir.mkdir(parents=True, exist_ok=True)
    (env.rejected_dir / "dispatch.yaml").write_text("earlier\n")
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        counts = (result.ingested, result.duplicates, result.rejected, result.errors)
        assert counts == (count, 1, 4, 0), result.log
        outcomes = {r["file"]: r["outcome"] for r in result.log}
        assert {f: o for f, o in outcomes.items() if o != "ingested"} == {
            "garbled.yaml": "rejected",
            "dispatch.yaml": "rejected",
            "replay.yaml": "rejected",
            "stranger.yaml": "rejected",
            "copy.yaml": "duplicate",
        }
        types_ = Counter(e.type for e in store.events())
        assert types_ == {"task_created": count, "entry_rejected": 4}
        assert store.verify_chain().ok
    assert len(spy.argv) == 1 and spy.ended() == [0]
    assert all(c is not None for c in spy.claims.values()) and len(spy.claims) == count + 5
    codes = {
        f: rejection_reason(env, f)["code"]
        for f in files(env.rejected_dir)
        if not f.endswith(".reason.json") and f != "dispatch.yaml"
    }
    assert codes == {
        "garbled.yaml": "parse_error",
        "dispatch-1.yaml": "unknown_work_package",  # rejected/dispatch.yaml was taken
        "replay.yaml": "replay_conflict",
        "stranger.yaml": "unknown_principal",
    }
    assert (env.rejected_dir / "dispatch.yaml").read_text() == "earlier\n"
    assert files(env.done) == sorted([name(i) for i in range(count)] + ["copy.yaml"])
    assert files(env.new) == files(cur(env)) == []


# -- names in cur/, and a helper sweep against a sweep without one ----------------------


def test_a_claim_renamed_in_cur_is_planned_and_moved_under_its_new_name(env: Env, spy: Spy) -> None:
    """cur/0005.yaml is an orphan (another entry, claimed by a sweep that crashed before its
    commit) when new/0005.yaml arrives. The helper claims the newcomer as cur/0005-1.yaml
    and says so; the sweep plans and moves that file, not the orphan: both end in done/,
    each ingested once, each file holding what its entry recorded."""
    count = 70
    drop_bookings(env, count)
    orphan = work_package("WP-ORPHAN", created="2026-11-20T00:00:00Z")
    env.ws.ensure_dirs()
    (cur(env) / name(5)).write_text(orphan)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.recovered, result.errors) == (count + 1, 1, 0), result.log
        assert result.log[0] == {"file": name(5), "outcome": "ingested", "entry_id": "WP-ORPHAN"}
        assert Counter(e.entry_id for e in store.events()) == Counter(
            ["WP-ORPHAN", *(wp_id(i) for i in range(count))]
        )
        raw = {wp: store.entry(wp)["raw"] for wp in ("WP-ORPHAN", wp_id(5))}  # type: ignore[index]
        assert store.verify_chain().ok
    got = spy.claims[name(5)]
    assert got is not None and got.path == cur(env) / "0005-1.yaml" and got.same
    assert name(5) not in [n for n, c in spy.claims.items() if c is None]
    assert spy.ended() == [0]
    assert files(env.done) == sorted([name(i) for i in range(count)] + ["0005-1.yaml"])
    assert (env.done / name(5)).read_text() == raw["WP-ORPHAN"] == orphan
    assert (env.done / "0005-1.yaml").read_text() == raw[wp_id(5)] == booking(5)
    assert files(cur(env)) == files(env.new) == []


ODD_NAMES = [
    "caf\udce9 \u00e9t\u00e9.yaml",  # a byte that is not UTF-8, spaces, accents
    "two\nlines.yaml",
    'quote"back\\slash.yaml',
    "x" * 195 + ".yaml",  # as long as the queue keeps a name (maildir.MAX_NAME_BYTES)
]


def mixed_queue(env: Env) -> None:
    """The same queue in any workspace: bookings, rejections of several kinds, a duplicate,
    a bad signature, files with odd names, and orphans in cur/: one never committed (sharing
    its name with a file in new/), and two whose commit was made but not their move (a
    booking and a rejection, as a crash between the two leaves them)."""
    env.drop("early.yaml", work_package("WP-EARLY", created="2026-11-19T00:00:00Z"))
    env.drop(
        "early-bad.yaml",
        entry(
            "dispatch",
            "DSP-0",
            "WP-9998",
            "human:owner",
            "to: agent:implementer-1",
            created="2026-11-19T00:00:01Z",
        ),
    )
    with env.store() as store:
        assert swept(Sweeper(env.ws, store)).events == 2
    (env.done / "early.yaml").rename(cur(env) / "early.yaml")
    (env.rejected_dir / "early-bad.yaml").rename(cur(env) / "early-bad.yaml")
    (env.rejected_dir / "early-bad.yaml.reason.json").unlink()
    for i in range(80):
        env.drop(name(i), booking(i))
    drop_refused(env)
    env.drop("copy.yaml", booking(50))
    (env.new / (name(10) + ".sig")).write_bytes(b"not a signature\n")
    for n, odd in enumerate(ODD_NAMES):
        env.drop(odd, booking(90 + n))
    env.ws.ensure_dirs()
    (cur(env) / name(7)).write_text(work_package("WP-ORPHAN", created="2026-11-20T00:00:00Z"))


def snapshot(env: Env) -> dict[str, Any]:
    """What a sweep left: the queue's files and their bytes, the events (all but the
    moment each was appended)."""
    queue = {
        d: {f: (env.ws.queue_dir(d) / f).read_bytes() for f in files(env.ws.queue_dir(d))}
        for d in ("new", "cur", "done", "rejected")
    }
    with env.store() as store:
        assert store.verify_chain().ok
        events = [
            (e.type, e.work_package, e.principal, e.entry_id, e.payload) for e in store.events()
        ]
    return {"queue": queue, "events": events}


def test_a_helper_sweep_ends_exactly_where_a_sweep_without_one_does(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = Env(env.root.parent / "alone", capsys)
    mixed_queue(env)
    mixed_queue(alone)
    with monkeypatch.context() as patched, alone.store() as store:
        patched.setattr(sweep_module, "HELPER_MIN", 10**9)
        without = swept(Sweeper(alone.ws, store))
    assert spy.argv == []
    with env.store() as store:
        with_helper = swept(Sweeper(env.ws, store))
    assert len(spy.argv) == 1 and spy.ended() == [0]
    assert all(c is not None for c in spy.claims.values())
    assert with_helper.counts() == without.counts()
    assert with_helper.counts() == {
        "ingested": 84,  # 79 bookings (0010.yaml has a bad .sig), 4 odd names, the orphan
        "duplicates": 1,
        "rejected": 4,  # garbled, dispatch, replay, bad signature
        "retried": 0,
        "recovered": 3,  # the orphan, and the two whose move was missing
        "errors": 0,
        "events": 88,
    }
    assert with_helper.log == without.log
    assert snapshot(env) == snapshot(alone)
    assert files(env.new) == files(cur(env)) == []
    assert {"early.yaml", "0007.yaml", "0007-1.yaml", *ODD_NAMES} <= set(files(env.done))
    assert "early-bad.yaml.reason.json" in files(env.rejected_dir)


def test_an_entry_whose_name_leaves_no_room_for_a_sig_is_claimed_and_ingested(
    env: Env, spy: Spy
) -> None:
    """A file whose name holds 255 bytes, the most a name may (a `cp` may put one in new/),
    can have no NAME.sig beside it: NAME.sig would be too long a name. The helper claims it
    (shortened in cur/, maildir.fit_name) and goes on; it is ingested in this sweep, its
    file moved to done/, and the helper ends as it should (exit 0)."""
    count = 70
    drop_bookings(env, count)
    long_name = "y" * 250 + ".yaml"
    assert len(os.fsencode(long_name)) == 255
    env.drop(long_name, work_package("WP-LONG", created=at(10_000)))
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        exits = spy.ended()
        state = {d: [f[:16] for f in files(env.ws.queue_dir(d))] for d in ("new", "cur")}
        others = [r for r in result.log if r["outcome"] != "ingested"]
        assert (result.ingested, result.errors, exits) == (count + 1, 0, [0]), (state, others)
        assert store.work_package("WP-LONG") is not None
    assert files(env.new) == files(cur(env)) == []
    assert len(files(env.done)) == count + 1


# -- 4: the helper dies mid-sweep ---------------------------------------------------------


def test_the_helper_killed_mid_sweep_loses_nothing_and_ingests_nothing_twice(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 8 (so the sweep is mid-way when the first is settled). Once the helper
    has claimed well ahead of the sweep, it is killed (SIGKILL) from the first event's
    callback. The sweep returns without raising, every entry it ingested is ingested once,
    the files the helper claimed and never reported wait in cur/, and a second sweep
    ingests them (as orphans) and the rest, once each."""
    monkeypatch.setattr(sweep_module, "BATCH_MAX", 8)
    count = 150
    drop_bookings(env, count)
    at_kill: set[str] = set()

    def kill(event: Event) -> None:
        if at_kill:
            return
        proc = spy.proc
        wait_until(lambda: len(files(cur(env))) >= 40, "the helper claimed ahead")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=WAIT_S) == -signal.SIGKILL
        at_kill.update(files(cur(env)))

    with env.store() as store:
        first = swept(Sweeper(env.ws, store, on_event=kill))
        assert first.errors == 0 and first.rejected == 0, first.log
        done_first = files(env.done)
        left_in_cur = files(cur(env))
        assert first.ingested == len(done_first) == first.events
        assert first.log == [
            {"file": n, "outcome": "ingested", "entry_id": f"WP-{n.removesuffix('.yaml')}"}
            for n in done_first
        ]
        assert Counter(e.entry_id for e in store.events()) == Counter(
            f"WP-{n.removesuffix('.yaml')}" for n in done_first
        )
        assert store.verify_chain().ok
    assert at_kill, "the callback never ran"
    # What the helper had claimed and the sweep never took waits in cur/, unplanned; nothing
    # else is in cur/ (the sweep moved all it ingested), and no file is in two places.
    assert left_in_cur, "the helper claimed nothing ahead: the test proves nothing"
    assert set(left_in_cur) <= at_kill
    everything = done_first + left_in_cur + files(env.new)
    assert sorted(everything) == [name(i) for i in range(count)]
    with env.store() as store:
        second = swept(Sweeper(env.ws, store))
        assert second.errors == 0 and second.rejected == 0, second.log
        assert second.recovered == len(left_in_cur)
        assert first.ingested + second.ingested == count
    assert_all_ingested_once(env, count)


# -- 5: the helper cannot start -----------------------------------------------------------


@pytest.mark.parametrize("program", ["missing", "not-executable", "directory"])
def test_a_helper_that_cannot_start_leaves_the_sweep_doing_everything(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, program: str
) -> None:
    interpreter = tmp_path / "python-that-is-not"
    if program == "not-executable":
        interpreter.write_text("#!/bin/sh\n")
        interpreter.chmod(0o644)
    elif program == "directory":
        interpreter.mkdir()
    monkeypatch.setattr(sys, "executable", str(interpreter))
    count = 90
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.errors, result.events) == (count, 0, count)
        assert result.log == ingested_log(count)
    assert len(spy.argv) == 1 and spy.argv[0][0] == str(interpreter)
    assert len(spy.start_errors) == 1 and spy.procs == []
    assert list(spy.claims) == [name(i) for i in range(count)]
    assert set(spy.claims.values()) == {None}  # no answer: the sweep claimed each itself
    assert spy.moved == [[]]
    assert_all_ingested_once(env, count)


# -- 6: a file changed between the pre-pass and its claim ---------------------------------


def test_what_is_ingested_is_what_was_claimed_not_what_was_first_parsed(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files are rewritten after the pre-pass parsed them: 0003.yaml before the helper
    is first asked to claim (the helper reads it back and says it is not the same), and
    0140.yaml from the first event's callback, far beyond what the helper has been asked to
    claim. Each is ingested as it was claimed: the new title, the sha256 of the bytes that
    end in done/."""
    monkeypatch.setattr(sweep_module, "BATCH_MAX", 8)
    count = 150
    changed = {3: "Changed early", 140: "Changed late"}
    drop_bookings(env, count)
    real_claim_in_order = Helper.claim_in_order

    def claim_in_order(self: Helper, order: list[tuple[str, str]]) -> None:
        (env.new / name(3)).write_text(booking(3, title=changed[3]))
        real_claim_in_order(self, order)

    monkeypatch.setattr(Helper, "claim_in_order", claim_in_order)
    rewritten: list[str] = []

    def rewrite_late(event: Event) -> None:
        if not rewritten:
            late = env.new / name(140)
            assert late.exists(), "0140.yaml was claimed already: the test proves nothing"
            late.write_text(booking(140, title=changed[140]))
            rewritten.append(late.name)

    with env.store() as store:
        result = swept(Sweeper(env.ws, store, on_event=rewrite_late))
        assert (result.ingested, result.errors) == (count, 0), result.log
        assert result.log == ingested_log(count)
        for i in range(count):
            wp = store.work_package(wp_id(i))
            assert wp is not None
            assert wp["title"] == changed.get(i, "A task"), i
            stored = store.entry(wp_id(i))
            assert stored is not None
            on_disk = (env.done / name(i)).read_bytes()
            assert stored["sha256"] == hashlib.sha256(on_disk).hexdigest(), i
            assert stored["raw"].encode() == on_disk, i
        assert store.verify_chain().ok
    assert rewritten == [name(140)]
    # The helper said which claimed bytes were not the ones parsed.
    not_same = sorted(n for n, c in spy.claims.items() if c is not None and not c.same)
    assert not_same == [name(3), name(140)]
    assert all(c is not None for c in spy.claims.values())
    assert spy.ended() == [0]
    assert_all_ingested_once(env, count)


# -- 7: a stop mid-sweep ------------------------------------------------------------------


def test_a_stopped_helper_sweep_leaves_nothing_claimed_and_the_rest_waiting(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_module, "BATCH_MAX", 8)
    count = 200
    drop_bookings(env, count)
    stop = threading.Event()

    def stop_soon(event: Event) -> None:
        stop.set()

    with env.store() as store:
        first = swept(Sweeper(env.ws, store, on_event=stop_soon), stop)
        assert first.errors == 0 and first.recovered == 0, first.log
        assert first.log == ingested_log(first.ingested)
        assert 8 <= first.ingested < count
    assert spy.ended() == [0]
    assert files(cur(env)) == []  # what the helper claimed was planned before the stop
    assert files(env.done) == [name(i) for i in range(first.ingested)]
    assert files(env.new) == [name(i) for i in range(first.ingested, count)]
    assert list(spy.claims) == [name(i) for i in range(first.ingested)]
    with env.store() as store:
        second = swept(Sweeper(env.ws, store))
        assert (second.ingested, second.recovered, second.errors) == (
            count - first.ingested,
            0,
            0,
        )
        assert second.log == ingested_log(count)[first.ingested :]
    assert_all_ingested_once(env, count)


# -- 9: garbled answers --------------------------------------------------------------------


def answering(answer: bytes) -> str:
    """A helper that answers every item of every request with `answer` (one line)."""
    text = repr(answer + b"\n")
    return f"""
        import json, sys
        for line in sys.stdin.buffer:
            op, items = json.loads(line)
            sys.stdout.buffer.write({text} * len(items))
            sys.stdout.buffer.flush()
    """


GARBAGE = {
    "not json": answering(b"\x00 this is not json"),
    "a claim answer of the wrong types": answering(b'[1, "yes", false, null]'),
    "a claim answer too short": answering(b"[1, true]"),
    "a claim answer that is not 1": answering(b"[2, true, false, null]"),
    "an object": answering(b'{"claim": 1}'),
    "a number": answering(b"7"),
    "null": answering(b"null"),
    "a claimed name that is a path": answering(b'[1, true, false, "../../done/x.yaml"]'),
    "a claimed name that is ..": answering(b'[1, true, false, ".."]'),
    "a claimed name that is empty": answering(b'[1, true, false, ""]'),
    "a claimed name that is a number": answering(b"[1, true, false, 5]"),
    "json nested too deep to read": answering(b"[" * 100_000),
    "half a line, then gone": """
        import sys
        sys.stdin.buffer.readline()
        sys.stdout.buffer.write(b'[1, true, fal')
    """,
    "silently gone": """
        import sys
        sys.exit(3)
    """,
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_a_helper_answering_nonsense_leaves_the_sweep_doing_everything(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, garbage: str
) -> None:
    script = helper_script(tmp_path, GARBAGE[garbage])
    monkeypatch.setattr(mover, "__file__", str(script))
    count = 80
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.errors, result.events) == (count, 0, count)
        assert result.log == ingested_log(count)
    assert spy.argv == [expected_argv(env, str(script))]
    spy.ended()
    assert set(spy.claims.values()) == {None}  # no answer was taken
    assert spy.moved == [[]]  # no move was asked of it: the sweep moved every file itself
    assert_all_ingested_once(env, count)


def garbling_mover(tmp_path: Path, bad: range, garbage: bytes, answers: str = "all") -> Path:
    """The real mover (loaded by path, serving as it does), but some of its answer lines
    replaced by `garbage`: those whose index is in `bad`, counting the lines it writes
    (`answers` "all"), or only its answers to claims ("claim") or to moves ("move")."""
    garbage_line = repr(garbage + b"\n")
    return helper_script(
        tmp_path,
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("real_mover", {mover.__file__!r})
        real = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(real)

        def kind(line):
            return "claim" if line.startswith((b"[1,", b"[0]")) else "move"

        class Garbling:
            def __init__(self, out):
                self.out, self.n = out, 0
            def write(self, data):
                for line in data.splitlines(keepends=True):
                    counted = {answers!r} in ("all", kind(line))
                    bad = counted and {bad.start} <= self.n < {bad.stop}
                    self.out.write({garbage_line} if bad else line)
                    self.n += counted
            def flush(self):
                self.out.flush()

        dirs = [real.Path(arg) for arg in sys.argv[1:5]]
        answers = Garbling(sys.stdout.buffer)
        real.serve(real._maildir(), dirs, sys.stdin.buffer, answers, int(sys.argv[5]))
        """,
    )


def test_a_helper_that_turns_to_nonsense_mid_sweep_loses_nothing(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real mover for its first 20 answers, nonsense after: the sweep takes the good
    answers, then goes on alone. What the helper claimed after the sweep stopped listening
    waits in cur/; the next sweep ingests it. Every entry once."""
    script = garbling_mover(tmp_path, range(20, 10**9), b"garbage")
    monkeypatch.setattr(mover, "__file__", str(script))
    count = 120
    drop_bookings(env, count)
    with env.store() as store:
        first = swept(Sweeper(env.ws, store))
        assert first.errors == 0 and first.rejected == 0, first.log
    spy.ended()  # it ends once it sees its input closed (or its answers unread)
    taken = [n for n, c in spy.claims.items() if c is not None]
    assert taken == [name(i) for i in range(20)]
    left_in_cur = files(cur(env))
    done_first = files(env.done)
    assert first.ingested == len(done_first)
    assert sorted(done_first + left_in_cur + files(env.new)) == [name(i) for i in range(count)]
    with env.store() as store:
        assert Counter(e.entry_id for e in store.events()) == Counter(
            f"WP-{n.removesuffix('.yaml')}" for n in done_first
        )
        second = swept(Sweeper(env.ws, store))
        assert second.errors == 0, second.log
        assert second.recovered == len(left_in_cur)
        assert first.ingested + second.ingested == count
    assert_all_ingested_once(env, count)


def test_one_unreadable_answer_puts_no_answer_on_the_wrong_file(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real mover, but its sixth answer (the claim of 0005.yaml) is a line of JSON nested
    too deep to read, as a garbled pipe may hold (json.loads raises RecursionError there).
    0006.yaml was rewritten after the pre-pass, so the helper answers its claim "not the
    same". The sweep must stop listening at the unreadable line and go on alone, not take
    each later answer for the file before it: what is ingested is what was claimed, the
    bytes in done/, every entry once (a second sweep picks up what the helper left)."""
    script = garbling_mover(tmp_path, range(5, 6), b"[" * 100_000, answers="claim")
    monkeypatch.setattr(mover, "__file__", str(script))
    count = 100
    drop_bookings(env, count)
    real_claim_in_order = Helper.claim_in_order

    def claim_in_order(self: Helper, order: list[tuple[str, str]]) -> None:
        (env.new / name(6)).write_text(booking(6, title="Changed"))
        real_claim_in_order(self, order)

    monkeypatch.setattr(Helper, "claim_in_order", claim_in_order)
    with env.store() as store:
        first = swept(Sweeper(env.ws, store))
    # Once only: the second sweep may start a helper too (the first one's helper may have
    # claimed 64 files or more ahead before it was dropped, all orphans now).
    monkeypatch.setattr(Helper, "claim_in_order", real_claim_in_order)
    spy.ended()
    with env.store() as store:
        second = swept(Sweeper(env.ws, store))
        for i in range(count):
            stored = store.entry(wp_id(i))
            assert stored is not None, i
            on_disk = (env.done / name(i)).read_bytes()
            assert stored["sha256"] == hashlib.sha256(on_disk).hexdigest(), (
                f"{name(i)}: the store recorded the title {stored['body']['title']!r}, "
                f"done/ holds {on_disk.decode()!r}; first sweep: {first.log[:7]}"
            )
        assert store.work_package(wp_id(6))["title"] == "Changed"  # type: ignore[index]
    assert_all_ingested_once(env, count)
    assert first.errors == second.errors == 0, first.log[:8]


def test_an_unreadable_answer_to_moves_does_not_make_the_sweep_raise(
    env: Env, spy: Spy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real mover, but its answer to the first move it makes is JSON nested too deep to
    read. The sweep returns (it does not raise), stops listening to the helper, and makes
    the moves it has no answer for itself: every file in done/, every entry once."""
    script = garbling_mover(tmp_path, range(0, 1), b"[" * 100_000, answers="move")
    monkeypatch.setattr(mover, "__file__", str(script))
    count = 150
    drop_bookings(env, count)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert (result.ingested, result.errors) == (count, 0), result.log[:3]
    spy.ended()
    assert_all_ingested_once(env, count)


# -- 8: mover.serve, request by request ---------------------------------------------------

QUEUE = mover._maildir()  # the queue's functions as the helper process loads them


@pytest.fixture
def qdirs(tmp_path: Path) -> list[Path]:
    dirs = [tmp_path / d for d in ("new", "cur", "done", "rejected")]
    for d in dirs:
        d.mkdir()
    return dirs


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def served(dirs: list[Path], *requests: list[Any], parent: int = 0) -> list[Any]:
    requests_io = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
    answers = io.BytesIO()
    mover.serve(QUEUE, dirs, requests_io, answers, parent)
    return [json.loads(line) for line in answers.getvalue().splitlines()]


def test_mover_claims_in_order_and_says_what_it_found(qdirs: list[Path]) -> None:
    new, cur_dir, _, _ = qdirs
    (new / "a.yaml").write_bytes(b"A\n")
    (new / "b.yaml").write_bytes(b"B\n")
    (new / "b.yaml.sig").write_bytes(b"SIG\n")
    (new / "c.yaml").write_bytes(b"C changed\n")
    (new / "d.yaml").write_bytes(b"D\n")
    (cur_dir / "d.yaml").write_bytes(b"an orphan\n")  # cur/ holds a d.yaml already
    answers = served(
        qdirs,
        [
            "claim",
            [
                ["a.yaml", sha(b"A\n")],
                ["gone.yaml", sha(b"")],
                ["b.yaml", sha(b"B\n")],
                ["c.yaml", sha(b"C\n")],
                ["d.yaml", sha(b"D\n")],
            ],
        ],
    )
    assert answers == [
        [1, True, False, None],
        [0],
        [1, True, True, None],  # the .sig came with it
        [1, False, False, None],  # the bytes claimed are not the ones parsed
        [1, True, False, "d-1.yaml"],  # cur/d.yaml was taken: claimed under a new name
    ]
    assert files(new) == []
    assert files(cur_dir) == ["a.yaml", "b.yaml", "b.yaml.sig", "c.yaml", "d-1.yaml", "d.yaml"]
    assert (cur_dir / "d.yaml").read_bytes() == b"an orphan\n"
    assert (cur_dir / "d-1.yaml").read_bytes() == b"D\n"
    assert (cur_dir / "b.yaml.sig").read_bytes() == b"SIG\n"


def test_mover_reads_back_only_regular_files_within_the_limit(
    qdirs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    new, cur_dir, _, _ = qdirs
    monkeypatch.setattr(mover, "READ_LIMIT", 8)
    (new / "small.yaml").write_bytes(b"12345678")
    (new / "large.yaml").write_bytes(b"123456789")
    target = new.parent / "elsewhere.yaml"
    target.write_bytes(b"12345678")
    (new / "link.yaml").symlink_to(target)
    answers = served(
        qdirs,
        [
            "claim",
            [
                ["small.yaml", sha(b"12345678")],
                ["large.yaml", sha(b"123456789")],
                ["link.yaml", sha(b"12345678")],
            ],
        ],
    )
    assert answers == [[1, True, False, None], [1, False, False, None], [1, False, False, None]]
    assert (cur_dir / "link.yaml").is_symlink()  # claimed as it is; the sweep rejects it


def test_mover_moves_to_done_and_rejected_with_signatures_and_reasons(
    qdirs: list[Path],
) -> None:
    _, cur_dir, done, rejected = qdirs
    for f in ("ok.yaml", "ok.yaml.sig", "plain.yaml", "bad.yaml", "bad.yaml.sig"):
        (cur_dir / f).write_text(f"{f}\n")
    reason = {"code": "bad_signature", "message": "nope ✗", "entry_id": "WP-1"}
    answers = served(
        qdirs,
        [
            "move",
            [
                ["done", "ok.yaml", True],
                ["done", "plain.yaml", False],
                ["reject", "bad.yaml", "bad-2.yaml", reason],
            ],
        ],
    )
    assert answers == [0, 0, 0]
    assert files(cur_dir) == []
    assert files(done) == ["ok.yaml", "ok.yaml.sig", "plain.yaml"]
    assert (done / "ok.yaml.sig").read_text() == "ok.yaml.sig\n"
    assert files(rejected) == ["bad-2.yaml", "bad-2.yaml.reason.json", "bad-2.yaml.sig"]
    assert (rejected / "bad-2.yaml").read_text() == "bad.yaml\n"
    assert (rejected / "bad-2.yaml.sig").read_text() == "bad.yaml.sig\n"
    assert json.loads((rejected / "bad-2.yaml.reason.json").read_text()) == reason


def test_mover_answers_nothing_to_do_for_a_file_already_gone(qdirs: list[Path]) -> None:
    """maildir.finish: a file another sweeper moved already is no failure (the store, not
    the file, makes ingest exactly-once)."""
    _, _, done, rejected = qdirs
    reason = {"code": "parse_error", "message": "m", "entry_id": None}
    answers = served(
        qdirs,
        ["move", [["done", "gone.yaml", True], ["reject", "gone2.yaml", "gone2.yaml", reason]]],
    )
    assert answers == [0, 0]
    assert files(done) == []
    assert not (rejected / "gone2.yaml").exists()


def test_mover_answers_a_failed_move_with_its_errno_and_goes_on(qdirs: list[Path]) -> None:
    _, cur_dir, done, rejected = qdirs
    for f in ("a.yaml", "b.yaml", "c.yaml"):
        (cur_dir / f).write_text(f"{f}\n")
    done.rmdir()
    done.write_text("not a directory\n")
    rejected.rmdir()
    rejected.write_text("not a directory\n")
    reason = {"code": "parse_error", "message": "m", "entry_id": None}
    not_a_dir = [errno.ENOTDIR, os.strerror(errno.ENOTDIR)]
    answers = served(
        qdirs,
        ["move", [["done", "a.yaml", False], ["reject", "b.yaml", "b.yaml", reason]]],
    )
    assert answers == [not_a_dir, not_a_dir]
    assert files(cur_dir) == ["a.yaml", "b.yaml", "c.yaml"]  # nothing lost
    done.unlink()
    done.mkdir()
    assert served(qdirs, ["move", [["done", "c.yaml", False]]]) == [0]
    assert files(done) == ["c.yaml"]


def test_mover_claims_nothing_once_its_sweeping_process_is_gone(qdirs: list[Path]) -> None:
    """`parent` is the sweeping process: once the helper's parent is another, it stops
    (answering nothing, claiming nothing) instead of taking files nobody will plan."""
    new = qdirs[0]
    (new / "a.yaml").write_bytes(b"A\n")
    not_my_parent = os.getpid()  # this process is not its own parent
    assert served(qdirs, ["claim", [["a.yaml", sha(b"A\n")]]], parent=not_my_parent) == []
    assert files(new) == ["a.yaml"]
    assert served(qdirs, ["claim", [["a.yaml", sha(b"A\n")]]], parent=os.getppid()) == [
        [1, True, False, None]
    ]


def test_mover_runs_as_its_own_program_on_the_standard_library_alone(qdirs: list[Path]) -> None:
    """As the sweep starts it (`-I -S`: no site-packages, no cockpit package): a claim
    then a move, answered in order, and it ends when its input ends."""
    new, cur_dir, done, _ = qdirs
    (new / "a.yaml").write_bytes(b"A\n")
    requests = [["claim", [["a.yaml", sha(b"A\n")]]], ["move", [["done", "a.yaml", False]]]]
    ran = subprocess.run(
        [sys.executable, "-I", "-S", mover.__file__, *map(str, qdirs), str(os.getpid())],
        input=b"".join(json.dumps(r).encode() + b"\n" for r in requests),
        capture_output=True,
        timeout=WAIT_S,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b"[1, true, false, null]\n0\n"
    assert files(new) == files(cur_dir) == [] and files(done) == ["a.yaml"]


# -- found in review -------------------------------------------------------------------------


def test_a_rejected_name_promised_in_one_batch_is_not_given_again_in_the_next(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rejected/x.yaml exists. x.yaml (planned in the first batch) is rejected as
    x-1.yaml; x-1.yaml (planned later) is rejected too. Its name was checked free on disk
    while the helper had not yet moved the first one there: both were given x-1.yaml and
    the second move overwrote the first file. Promised names now hold for the sweep."""
    monkeypatch.setattr(sweep_module, "BATCH_MAX", 8)
    drop_bookings(env, 100)
    env.rejected_dir.mkdir(parents=True, exist_ok=True)
    (env.rejected_dir / "x.yaml").write_text("an earlier rejection\n")
    (env.rejected_dir / "x.yaml.reason.json").write_text("{}\n")
    env.drop("x.yaml", booking(6, title="other A"), age=4.0)  # replays of 0006 and 0007
    env.drop("x-1.yaml", booking(7, title="other B"), age=4.0)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        rejections = [e.payload for e in store.events() if e.type == "entry_rejected"]
    assert (result.rejected, result.errors) == (2, 0), result.log
    given = sorted(p["file"] for p in rejections)
    assert len(set(given)) == 2, given
    for payload in rejections:  # each file is where its rejection says, with its own bytes
        kept = (env.rejected_dir / payload["file"]).read_bytes()
        assert hashlib.sha256(kept).hexdigest() == payload["sha256"]


# The real mover, ended (os._exit) right after it made a request's moves and before it
# answers them: what a SIGKILL in that window leaves.
DIES_BEFORE_ANSWERING_MOVES = """
    import importlib.util, os, sys
    spec = importlib.util.spec_from_file_location("real", {mover!r})
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)

    class Out:
        def __init__(self, raw):
            self.raw = raw
        def write(self, data):
            if data.startswith(b"0"):  # a move's answer: the moves are made
                os._exit(9)
            return self.raw.write(data)
        def flush(self):
            self.raw.flush()

    dirs = [real.Path(a) for a in sys.argv[1:5]]
    real.serve(real._maildir(), dirs, sys.stdin.buffer, Out(sys.stdout.buffer), int(sys.argv[5]))
"""


def test_a_move_the_helper_made_before_it_died_is_not_made_again_on_another_file(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An orphan cur/x.yaml is ingested in the first batch; the helper moves it to done/
    and dies before answering. A new x.yaml, rejected much later (a replay), is claimed by
    the sweep itself into the freed cur/x.yaml. Redoing the unanswered move by its name
    moved that new file to done/ (a rejected entry filed as ingested); now a move is made
    again only if cur/ still holds the bytes that were ingested."""
    monkeypatch.setattr(sweep_module, "BATCH_MAX", 8)
    script = helper_script(tmp_path, DIES_BEFORE_ANSWERING_MOVES.format(mover=mover.__file__))
    monkeypatch.setattr(mover, "__file__", str(script))
    drop_bookings(env, 150)
    orphan = cur(env) / "x.yaml"
    orphan.write_text(booking(900, created=at(0)))
    os.utime(orphan, (0, 0))
    env.drop("x.yaml", booking(120, title="other"), age=4.0)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store))
        assert store.entry("WP-0900") is not None
        rejections = [e.payload for e in store.events() if e.type == "entry_rejected"]
    assert result.errors == 0, result.log[:3]
    assert [(p["original_file"], p["code"]) for p in rejections] == [("x.yaml", "replay_conflict")]
    assert "WP-0900" in (env.done / "x.yaml").read_text()
    assert "other" not in "".join(p.read_text() for p in env.done.iterdir() if "x" in p.name)
    kept = (env.rejected_dir / rejections[0]["file"]).read_bytes()
    assert hashlib.sha256(kept).hexdigest() == rejections[0]["sha256"]


def test_a_stop_is_heard_when_batches_fail_before_they_claim(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store locked: every batch fails before it claims its first file. A stop asked
    meanwhile used to go unheard (the file the failed batch had asked the helper for was
    never taken, so the sweep waited to plan it): every one of 300 batches was tried."""
    drop_bookings(env, 300)
    stop = threading.Event()
    tried: list[int] = []

    def locked(self: Sweeper) -> Any:
        tried.append(1)
        stop.set()  # a stop arrives while the store is locked
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Sweeper, "_batch_transaction", locked)
    with env.store() as store:
        result = swept(Sweeper(env.ws, store), stop)
    assert len(tried) == 1 and result.errors == 1, (len(tried), result.errors)
