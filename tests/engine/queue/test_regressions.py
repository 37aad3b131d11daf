"""Regression tests of the queue (Maildir discipline, the sweep, `cockpit submit`): one (or a
few) per bug that was fixed, each on a real workspace. Every test fails on the code before
its fix (the docstring names what it pins) and passes on the fixed code; a test whose
regression could block runs it under a deadline, so the regression shows up as a failure,
not as a hung test run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers.process import in_thread, unblock_fifos
from helpers.workspace import (
    Env,
    count_events,
    entry,
    rejected_rows,
    rejection_reason,
    t,
    work_package,
)

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

HANG_LIMIT_S = 10.0


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
    why = rejection_reason(env, "pipe.yaml")
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
    assert rejection_reason(env, "linked.yaml")["code"] == "symlink"
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
    assert rejection_reason(env, kept)["code"] == "parse_error"
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
    why = rejection_reason(env, "x-1.yaml")
    assert (why["code"], why["entry_id"]) == ("replay_conflict", "WP-1")
    assert (env.done / "x.yaml").read_bytes() == first.read_bytes()


# -- 11: a crash between a rejection's commit and its move --------------------------------------


def test_a_rejection_whose_move_was_lost_is_finished_not_replanned(env: Env) -> None:
    """sweep.Sweeper._ingest: an orphan in cur/ with a recorded rejection (same name, same
    hash) is moved to rejected/ again; it is neither re-rejected nor ingested, even though
    it would now be valid."""
    dispatch = entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:implementer-1")
    env.drop("d.yaml", dispatch)
    summary = env.single_sweep()
    assert summary.sweep.rejected == 1
    assert rejection_reason(env, "d.yaml")["code"] == "unknown_work_package"
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
    why = rejection_reason(env, "d.yaml")
    assert (why["code"], why["entry_id"]) == ("unknown_work_package", "DSP-1")
    assert os.listdir(env.ws.queue_dir("cur")) == []
    assert len(env.events()) == events
    assert count_events(env, "entry_rejected") == 1
    assert count_events(env, "dispatched") == 0
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"
    assert len(rejected_rows(env)) == 1
