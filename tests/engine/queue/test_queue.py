"""SPEC 3.1 queue discipline on real workspaces: sweep order, exactly-once ingest, young
files, ignored names, orphans in cur/, `cockpit submit`, and concurrent sweepers."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.workspace import Env, dispatch, entry, t, work_package

from cockpit.engine.queue.sweep import Sweeper, SweepResult
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def entry_ids(env: Env) -> list[str]:
    """Ids of every recorded entry, in ingest (seq) order."""
    with env.store() as store:
        return [row["id"] for row in store.entries()]


def event_entry_ids(env: Env, event_type: str) -> list[str | None]:
    return [e.entry_id for e in env.events() if e.type == event_type]


# -- order --------------------------------------------------------------------------------


def test_batch_is_applied_in_created_order_not_file_name_order(env: Env) -> None:
    # File names sort in exactly the reverse of the order the entries were written.
    env.drop("z.yaml", work_package("WP-1", created=t(0)))
    env.drop("a.yaml", dispatch("WP-1", 1, entry_id="DSP-1"))
    env.drop(
        "0.yaml",
        entry(
            "scope_confirmation",
            "SCP-1",
            "WP-1",
            "agent:implementer-1",
            "confirmed: true",
            created=t(2),
        ),
    )
    env.drop(
        "-review.yaml",
        entry("review", "REV-1", "WP-1", "human:owner", "verdict: go", created=t(3)),
    )
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert summary.sweep.ingested == 4
    assert entry_ids(env) == ["WP-1", "DSP-1", "SCP-1", "REV-1"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "in_progress"
    assert files(env.new) == []
    assert files(env.done) == ["-review.yaml", "0.yaml", "a.yaml", "z.yaml"]


def test_equal_created_times_are_applied_in_id_order(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    # Version 2 is in the file that sorts first by name; ids decide: CG-A (v1) then CG-B (v2).
    env.drop(
        "a.yaml",
        entry("common_ground", "CG-B", "WP-1", "human:owner", "version: 2", created=t(5)),
    )
    env.drop(
        "b.yaml",
        entry("common_ground", "CG-A", "WP-1", "human:owner", "version: 1", created=t(5)),
    )
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert entry_ids(env) == ["WP-1", "CG-A", "CG-B"]


def test_created_times_are_compared_as_instants_across_zones(env: Env) -> None:
    # 10:30+02:00 is 08:30Z, before the dispatch at 09:00Z, though it sorts after as text.
    env.drop("b.yaml", work_package("WP-1", created="2026-11-21T10:30:00+02:00"))
    env.drop("a.yaml", dispatch("WP-1", 0, entry_id="DSP-1").replace(t(0), "2026-11-21T09:00:00Z"))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert entry_ids(env) == ["WP-1", "DSP-1"]
    assert env.wp("WP-1")["state"] == "dispatched"  # type: ignore[index]


def test_entry_written_before_its_work_package_is_rejected_not_reordered(env: Env) -> None:
    # Order is by `created`, so a dispatch claiming to precede its WP finds no WP.
    env.drop("a.yaml", work_package("WP-1", created=t(5)))
    env.drop("b.yaml", dispatch("WP-1", 1, entry_id="DSP-1"))
    summary = env.sweep()
    assert summary.sweep.ingested == 1
    assert summary.sweep.rejected == 1
    assert files(env.rejected_dir) == ["b.yaml", "b.yaml.reason.json"]
    assert env.wp("WP-1")["state"] == "booked"  # type: ignore[index]


# -- exactly-once -------------------------------------------------------------------------


def test_same_bytes_again_is_a_counted_duplicate(env: Env) -> None:
    text = work_package("WP-1", created=t(0))
    env.drop("wp.yaml", text)
    first = env.sweep()
    assert first.sweep.ingested == 1
    events_before = env.events()

    env.drop("wp.yaml", text)  # the same name and the same bytes, dropped again
    result = env.cli("run", "--once", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["duplicates"] == 1
    assert summary["ingested"] == 0
    assert summary["rejected"] == 0

    assert env.events() == events_before  # no new state, no event
    assert event_entry_ids(env, "task_created") == ["WP-1"]
    assert entry_ids(env) == ["WP-1"]
    assert files(env.new) == []
    assert files(env.rejected_dir) == []
    done = files(env.done)
    assert len(done) == 2  # both copies kept: the queue is an append-only record
    assert all((env.done / n).read_bytes() == text.encode() for n in done)


def test_same_bytes_twice_in_one_batch_is_ingested_once(env: Env) -> None:
    text = work_package("WP-1", created=t(0))
    env.drop("one.yaml", text)
    env.drop("two.yaml", text)
    summary = env.sweep()
    assert summary.sweep.ingested == 1
    assert summary.sweep.duplicates == 1
    assert summary.sweep.rejected == 0
    assert event_entry_ids(env, "task_created") == ["WP-1"]
    assert files(env.done) == ["one.yaml", "two.yaml"]


def test_same_id_with_different_bytes_is_replay_conflict(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.sweep()
    changed = work_package("WP-1", created=t(0)).replace("do the thing", "do another thing")
    env.drop("wp2.yaml", changed)
    summary = env.sweep()
    assert summary.sweep.rejected == 1
    assert summary.sweep.duplicates == 0
    assert (env.rejected_dir / "wp2.yaml").read_bytes() == changed.encode()
    rejections = [e for e in env.events() if e.type == "entry_rejected"]
    assert [e.payload["code"] for e in rejections] == ["replay_conflict"]
    assert env.wp("WP-1")["objective"] == "do the thing"  # type: ignore[index]


def test_entry_hash_is_sha256_of_the_file_bytes(env: Env) -> None:
    text = work_package("WP-1", created=t(0))
    env.drop("wp.yaml", text)
    env.sweep()
    with env.store() as store:
        stored = store.entry("WP-1")
    assert stored is not None
    assert stored["sha256"] == hashlib.sha256(text.encode()).hexdigest()


# -- young files --------------------------------------------------------------------------


def test_young_unparsable_file_is_retried_then_rejected(env: Env) -> None:
    path = env.drop("half.yaml", b"schema: cockpit.entry/v1\nkind: [work_pa", age=0)
    summary = env.single_sweep()
    assert summary.sweep.retried == 1
    assert summary.sweep.rejected == 0
    assert files(env.new) == ["half.yaml"]
    assert files(env.ws.queue_dir("cur")) == []
    assert files(env.rejected_dir) == []
    assert env.events() == []

    time.sleep(1.5)  # older than ~1 s now: nobody is still writing it
    assert path.exists()
    summary = env.single_sweep()
    assert summary.sweep.retried == 0
    assert summary.sweep.rejected == 1
    assert files(env.new) == []
    assert files(env.rejected_dir) == ["half.yaml", "half.yaml.reason.json"]
    assert [e.payload["code"] for e in env.events()] == ["parse_error"]


def test_young_file_completed_by_its_writer_is_ingested(env: Env) -> None:
    text = work_package("WP-1", created=t(0))
    path = env.drop("cp.yaml", text[: len(text) // 2], age=0)  # `cp` is half-way
    assert env.single_sweep().sweep.retried == 1
    path.write_text(text, encoding="utf-8")  # the copy finishes
    summary = env.single_sweep()
    assert summary.sweep.ingested == 1, summary.sweep.log
    assert summary.sweep.rejected == 0
    assert env.wp("WP-1") is not None
    assert files(env.done) == ["cp.yaml"]


def test_run_once_drains_a_young_unparsable_file_after_a_second_look(env: Env) -> None:
    env.drop("half.yaml", b"schema: cockpit.entry/v1\nkind: [work_pa", age=0)
    started = time.monotonic()
    summary = env.sweep()
    assert time.monotonic() - started >= 1.0  # it waited for a writer that never finished
    assert summary.sweep.retried == 0
    assert summary.sweep.rejected == 1
    assert files(env.new) == []
    assert files(env.rejected_dir) == ["half.yaml", "half.yaml.reason.json"]


def test_young_valid_file_is_ingested_at_once(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)), age=0)
    summary = env.sweep()
    assert summary.sweep.ingested == 1
    assert summary.sweep.retried == 0


# -- ignored names ------------------------------------------------------------------------


def test_dotfiles_tmp_and_part_files_are_never_read(env: Env) -> None:
    ignored = {
        ".hidden.yaml": work_package("WP-H", created=t(0)),
        "x.tmp": work_package("WP-T", created=t(0)),
        "x.part": work_package("WP-P", created=t(0)),
        ".broken.yaml": "kind: [\n",
        "y.yaml.part": "kind: [\n",
    }
    for name, text in ignored.items():
        env.drop(name, text)
    env.drop("real.yaml", work_package("WP-1", created=t(1)))

    summary = env.sweep()
    assert summary.sweep.ingested == 1
    assert summary.sweep.rejected == 0
    assert summary.sweep.retried == 0
    assert files(env.new) == sorted(ignored)
    for name, text in ignored.items():
        assert (env.new / name).read_text() == text  # untouched
    assert [e.entry_id for e in env.events()] == ["WP-1"]
    assert entry_ids(env) == ["WP-1"]
    assert files(env.rejected_dir) == []

    again = env.sweep()
    assert again.sweep.counts() == SweepResult().counts()
    assert files(env.new) == sorted(ignored)


# -- orphans in cur/ ----------------------------------------------------------------------


def test_orphan_in_cur_is_ingested_exactly_once(env: Env) -> None:
    cur = env.ws.queue_dir("cur")
    text = work_package("WP-1", created=t(0))
    (cur / "orphan.yaml").write_text(text, encoding="utf-8")  # a crashed runner's claim

    summary = env.sweep()
    assert summary.sweep.ingested == 1, summary.sweep.log
    assert summary.sweep.recovered == 1
    assert files(cur) == []
    assert files(env.done) == ["orphan.yaml"]
    assert event_entry_ids(env, "task_created") == ["WP-1"]

    again = env.sweep()
    assert again.sweep.ingested == 0
    assert event_entry_ids(env, "task_created") == ["WP-1"]
    assert files(env.done) == ["orphan.yaml"]


def test_orphan_of_an_ingested_entry_goes_to_done_without_an_event(env: Env) -> None:
    text = work_package("WP-1", created=t(0))
    env.drop("wp.yaml", text)
    env.sweep()
    events_before = env.events()
    # The runner crashed after committing but before moving the file out of cur/.
    cur = env.ws.queue_dir("cur")
    (cur / "wp.yaml").write_text(text, encoding="utf-8")

    summary = env.sweep()
    assert summary.sweep.ingested == 0
    assert summary.sweep.rejected == 0
    assert env.events() == events_before
    assert files(cur) == []
    done = files(env.done)
    assert len(done) == 2
    assert all((env.done / n).read_bytes() == text.encode() for n in done)


def test_orphan_is_ordered_with_new_entries(env: Env) -> None:
    # The WP was claimed into cur/ by a crashed runner; its dispatch waits in new/.
    (env.ws.queue_dir("cur") / "zz.yaml").write_text(
        work_package("WP-1", created=t(0)), encoding="utf-8"
    )
    env.drop("aa.yaml", dispatch("WP-1", 1, entry_id="DSP-1"))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert entry_ids(env) == ["WP-1", "DSP-1"]


# -- cockpit submit -----------------------------------------------------------------------


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_submit_places_a_good_batch_into_new(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "src"
    wp = _write(src, "wp.yaml", work_package("WP-1", created=t(0)))
    dsp = _write(src, "dsp.yaml", dispatch("WP-1", 1, entry_id="DSP-1"))

    result = env.cli("submit", str(wp), str(dsp), "--json")
    assert result.code == 0, result.err
    assert result.json() == {"submitted": ["WP-1", "DSP-1"]}
    assert files(env.new) == ["dsp.yaml", "wp.yaml"]
    assert (env.new / "wp.yaml").read_bytes() == wp.read_bytes()
    assert (env.new / "dsp.yaml").read_bytes() == dsp.read_bytes()
    assert files(env.ws.queue_dir("tmp")) == []
    assert wp.exists() and dsp.exists()  # the sources are left alone

    summary = env.sweep()
    assert summary.sweep.ingested == 2
    assert env.wp("WP-1")["state"] == "dispatched"  # type: ignore[index]


def test_submit_never_overwrites_a_waiting_entry(env: Env, tmp_path: Path) -> None:
    first = _write(tmp_path / "one", "entry.yaml", work_package("WP-1", created=t(0)))
    second = _write(tmp_path / "two", "entry.yaml", work_package("WP-2", created=t(1)))
    assert env.cli("submit", str(first)).code == 0
    assert env.cli("submit", str(second)).code == 0
    waiting = files(env.new)
    assert len(waiting) == 2
    contents = {(env.new / n).read_bytes() for n in waiting}
    assert contents == {first.read_bytes(), second.read_bytes()}
    assert files(env.ws.queue_dir("tmp")) == []


def test_submit_refuses_a_bad_file_with_one_line_on_stderr(env: Env, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", "schema: cockpit.entry/v1\nkind: [claim\n")
    result = env.cli("submit", str(bad))
    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert "bad.yaml" in lines[0] and "parse_error" in lines[0]
    assert files(env.new) == []
    assert files(env.ws.queue_dir("tmp")) == []


def test_submit_places_nothing_when_one_of_several_files_is_bad(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "src"
    good = [
        _write(src, "1.yaml", work_package("WP-1", created=t(0))),
        _write(src, "2.yaml", dispatch("WP-1", 1, entry_id="DSP-1")),
    ]
    bad = _write(src, "3.yaml", work_package("WP-2", principal="human:ghost", created=t(2)))
    later = _write(src, "4.yaml", work_package("WP-3", created=t(3)))

    result = env.cli("submit", *map(str, [*good, bad, later]), "--json")
    assert result.code == 2
    document = result.json()  # with --json the document is printed whatever the exit code
    assert document["submitted"] == []
    assert "3.yaml" in result.err and "unknown_principal" in result.err
    assert files(env.new) == []
    assert files(env.ws.queue_dir("tmp")) == []
    assert env.sweep().sweep.counts()["ingested"] == 0
    assert env.events() == []


def test_submit_refuses_what_the_sweep_would_reject_statically(env: Env, tmp_path: Path) -> None:
    cases = {
        "anchor.yaml": work_package("WP-1").replace("A task", "&a A task"),
        "cap.yaml": work_package("WP-1", principal="agent:implementer-1"),
        "escape.yaml": work_package(
            "WP-1",
            body="""
                title: x
                objective: y
                owner: agent:implementer-1
                accountable: human:owner
                tier: light
                lane: implementation
                owned_surfaces: [../x]
            """,
        ),
        "tenant.yaml": work_package("WP-1", extra="tenant: elsewhere"),
    }
    expected = {
        "anchor.yaml": "unsafe_yaml",
        "cap.yaml": "capability_denied",
        "escape.yaml": "path_escape",
        "tenant.yaml": "tenant_mismatch",
    }
    for name, text in cases.items():
        path = _write(tmp_path, name, text)
        result = env.cli("submit", str(path), "--json")
        assert result.code == 2, name
        assert result.json()["submitted"] == []
        assert expected[name] in result.err, (name, result.err)
        assert files(env.new) == []
        assert files(env.ws.queue_dir("tmp")) == []


def test_submit_refuses_a_symlink(env: Env, tmp_path: Path) -> None:
    target = _write(tmp_path, "real.yaml", work_package("WP-1", created=t(0)))
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    result = env.cli("submit", str(link))
    assert result.code == 2
    assert "symlink" in result.err
    assert files(env.new) == []


@pytest.mark.parametrize("name", [".hidden.yaml", "wp.yaml.part", "wp.tmp"])
def test_submit_never_reports_an_entry_the_sweep_will_not_read(
    env: Env, tmp_path: Path, name: str
) -> None:
    # Names starting with '.' or ending in .tmp/.part are never read from new/ (SPEC 3.1);
    # submit must either refuse such a file or place it where the sweep will read it.
    source = _write(tmp_path, name, work_package("WP-1", created=t(0)))
    result = env.cli("submit", str(source), "--json")
    if result.code == 0:
        assert result.json() == {"submitted": ["WP-1"]}
        summary = env.sweep()
        assert summary.sweep.ingested == 1, (
            f"submit reported WP-1 as submitted, but it waits in new/ as "
            f"{files(env.new)} and the sweep never reads it"
        )
        assert env.wp("WP-1") is not None
    else:
        assert result.code == 2
        assert files(env.new) == []
    assert files(env.ws.queue_dir("tmp")) == []


# -- concurrent sweepers ------------------------------------------------------------------


def _sweep_in_thread(
    ws: Workspace,
    store: Store,
    barrier: threading.Barrier | None,
    out: dict[str, Any],
    key: str,
) -> None:
    try:
        if barrier is not None:
            barrier.wait(timeout=60)  # a sweeper that never starts breaks it
        out[key] = Sweeper(ws, store).sweep()
    except BaseException as exc:  # reported by the test, never swallowed
        out[key + ".error"] = exc


def test_two_concurrent_sweepers_never_ingest_a_file_twice(env: Env) -> None:
    ids: list[str] = []
    for round_no in range(5):
        batch = [f"WP-{round_no}-{i:02d}" for i in range(30)]
        for i, wp_id in enumerate(batch):
            env.drop(f"{i:02d}-{wp_id}.yaml", work_package(wp_id, created=t(i)))
        ids += batch

        first = env.ws.open_store()
        second = Workspace.load(env.root).open_store()
        out: dict[str, Any] = {}
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=_sweep_in_thread, args=(env.ws, first, barrier, out, "a")),
            threading.Thread(target=_sweep_in_thread, args=(env.ws, second, barrier, out, "b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        first.close()
        second.close()
        errors = {k: v for k, v in out.items() if k.endswith(".error")}
        assert not errors, f"round {round_no}: a sweeper crashed: {errors!r}"

        a, b = out["a"], out["b"]
        assert a.ingested + b.ingested == 30, (round_no, a.log, b.log)
        assert a.rejected + b.rejected == 0, (round_no, a.log, b.log)

        assert files(env.new) == []
        assert files(env.ws.queue_dir("cur")) == []
        assert files(env.rejected_dir) == []
        done = files(env.done)
        assert len(done) == len(ids), (round_no, done)
        expected = sorted(
            f"{i:02d}-WP-{r}-{i:02d}.yaml" for r in range(round_no + 1) for i in range(30)
        )
        assert done == expected

    with env.store() as store:
        rows = store.entries()
        assert sorted(row["id"] for row in rows) == sorted(ids)
        assert len(rows) == len(ids)
        created = [e.entry_id for e in store.events() if e.type == "task_created"]
        assert sorted(created) == sorted(ids)
        assert store.verify_chain().ok


def test_sweeper_on_an_empty_queue_changes_nothing(env: Env) -> None:
    with env.store() as store:
        result = Sweeper(env.ws, store).sweep()
        assert result.counts() == SweepResult().counts()
        assert store.events() == []
    for name in ("tmp", "new", "cur", "done", "rejected"):
        assert files(env.ws.queue_dir(name)) == []


class _PausedSweeper(Sweeper):
    """A real sweeper that stops, mid-batch, after planning its first entry (its file
    claimed into cur/, the database's write lock held, nothing committed) until `go` is
    set: the moment another sweeper must not take that file at."""

    def __init__(self, ws: Workspace, store: Store) -> None:
        super().__init__(ws, store)
        self.paused = threading.Event()
        self.go = threading.Event()

    def _plan(self, current: Any, prepared: Any = None, optimistic: bool = False) -> None:
        super()._plan(current, prepared, optimistic)
        if not self.paused.is_set():
            self.paused.set()
            assert self.go.wait(timeout=60)


def test_sweeper_started_while_another_is_mid_batch_never_takes_its_file(env: Env) -> None:
    """Sweeper A has claimed the first file of its batch into cur/ and planned it, inside
    its transaction; sweeper B starts meanwhile, sees that file in cur/ and waits for the
    database. Neither may crash, ingest it twice, or leave a second copy in done/."""
    ids = [f"WP-{i:02d}" for i in range(30)]
    for i, wp_id in enumerate(ids):
        env.drop(f"{i:02d}.yaml", work_package(wp_id, created=t(i)))
    cur = env.ws.queue_dir("cur")

    first = env.ws.open_store()
    second = Workspace.load(env.root).open_store()
    sweeper_a = _PausedSweeper(env.ws, first)
    out: dict[str, Any] = {}

    def sweep_a() -> None:
        try:
            out["a"] = sweeper_a.sweep()
        except BaseException as exc:  # reported by the test, never swallowed
            out["a.error"] = exc

    thread_a = threading.Thread(target=sweep_a)
    thread_b = threading.Thread(target=_sweep_in_thread, args=(env.ws, second, None, out, "b"))
    try:
        thread_a.start()
        assert sweeper_a.paused.wait(timeout=10), "sweeper A never planned its first entry"
        assert files(cur) == ["00.yaml"], "sweeper A did not claim its first file"
        thread_b.start()
        time.sleep(0.5)  # B lists and parses the queue, then waits for the database
        assert files(cur) == ["00.yaml"]
    finally:
        sweeper_a.go.set()
    thread_a.join(timeout=60)
    thread_b.join(timeout=60)
    first.close()
    second.close()

    errors = {k: v for k, v in out.items() if k.endswith(".error")}
    assert not errors, f"a sweeper crashed: {errors!r}"
    assert out["a"].ingested + out["b"].ingested == 30
    assert files(env.new) == [] and files(cur) == [] and files(env.rejected_dir) == []
    assert files(env.done) == [f"{i:02d}.yaml" for i in range(30)]
    with env.store() as store:
        assert sorted(row["id"] for row in store.entries()) == ids
        created = [e.entry_id for e in store.events() if e.type == "task_created"]
        assert sorted(created) == ids
        assert store.verify_chain().ok
