"""Each figure of `run.py --json` with its baseline, measured in the same run on the same
machine. A figure is `{"value", "unit", "baseline", "ratio", ...}` with `ratio` = value /
baseline; `Figure.target` and `ok` say whether the value meets its target."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import processes

from cockpit.engine.queue import maildir
from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store
from cockpit.store.audit import EVENT_FIELDS, GENESIS

HERE = Path(__file__).resolve().parent
MARKER = b"WP-000000"  # the first row's id (benchmarks/build.py names WPs so)


@dataclass
class Figure:
    value: float
    unit: str
    baseline: float | None
    baseline_is: str
    target: float | None = None
    at_most: bool = True  # the target is a ceiling (times, sizes), else a floor (rates)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.at_most else self.value >= self.target

    def to_json(self) -> dict[str, Any]:
        ratio = self.value / self.baseline if self.baseline else None
        return {
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline) if self.baseline is not None else None,
            "baseline_is": self.baseline_is,
            "ratio": _round(ratio) if ratio is not None else None,
            "target": self.target,
            "ok": self.ok,
            **self.extra,
        }


def _round(value: float) -> float:
    return round(value, 4 if abs(value) < 1 else 2 if abs(value) < 1000 else 0)


def best(fn: Callable[[], float], repeat: int) -> float:
    """The least of `repeat` measures (others' load only ever slows a run down)."""
    return min(fn() for _ in range(repeat))


# -- ingest ------------------------------------------------------------------------------------


def booking(n: int) -> bytes:
    """A work_package entry file (what `cockpit submit` would place in queue/new)."""
    wp = f"WP-{n:06d}"
    return (
        "schema: cockpit.entry/v1\nkind: work_package\n"
        f"id: {wp}\nwork_package: {wp}\nprincipal: human:owner\n"
        "created: 2026-11-21T10:00:00Z\nbody:\n"
        f"  title: work package {n}\n  objective: o\n  owner: agent:implementer-1\n"
        "  accountable: human:owner\n  tier: light\n  lane: implementation\n"
    ).encode()


def ingest(template: Workspace, entries: int, first: int, repeat: int = 3) -> Figure:
    """`entries` bookings written to queue/new of a copy of `template`, then one sweep
    (`Sweeper(ws, store).sweep()`), the best of `repeat` (each on a fresh copy), after one
    sweep not counted: a process's first sweep pays once what a running runner has paid
    (modules imported on first use, caches filling); baseline: the same bytes inserted into
    a fresh SQLite file, one row per transaction (WAL, synchronous=FULL), the best of as
    many."""
    files = [booking(first + n) for n in range(entries)]
    _sweep_once(template, files)  # the warm-up
    seconds = best(lambda: _sweep_once(template, files), repeat)
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        baseline = best(
            lambda: _raw_sqlite(Path(scratch) / f"raw-{time.time_ns()}.db", files), repeat
        )
    return Figure(
        entries / seconds,
        "entries/s",
        entries / baseline,
        "raw SQLite, one row per transaction (WAL, synchronous=FULL)",
        target=5000,
        at_most=False,
        extra={"entries": entries, "wps_before": first, "best_of": repeat, "warm_up": 1},
    )


def _sweep_once(template: Workspace, files: list[bytes]) -> float:
    """Seconds one sweep takes to ingest `files` dropped into a copy of `template`."""
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        root = Path(scratch) / "ws"
        shutil.copytree(template.root, root)
        ws = Workspace.load(root)
        new = ws.queue_dir("new")
        for n, data in enumerate(files):
            (new / f"{n:05d}.yaml").write_bytes(data)
        # The copy written out first: the kernel's writeback of 75 MB would otherwise run
        # during the sweep, now and then (a copy more than half a minute old), and slow it.
        os.sync()
        with ws.open_store() as store:
            started = time.perf_counter()
            result = Sweeper(ws, store).sweep()
            seconds = time.perf_counter() - started
        if result.ingested != len(files):
            raise RuntimeError(
                f"the sweep ingested {result.ingested} of {len(files)}: {result.log[:3]}"
            )
    return seconds


def _raw_sqlite(path: Path, rows: list[bytes]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE entries (n INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        started = time.perf_counter()
        for n, data in enumerate(rows):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO entries VALUES (?, ?)", (n, data))
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


# -- audit verify --------------------------------------------------------------------------


def audit_verify(ws: Workspace, repeat: int) -> Figure:
    """`Store.verify_chain()` over the whole log; baseline: a hashlib.sha256 loop over the
    same bytes (each stored event's canonical bytes to its leaf, then the chain link)."""
    with Store.open_readonly(ws.db_path) as store:
        events = store.head_seq()
        seconds = best(lambda: _timed(store.verify_chain), repeat)
        blobs = _canonical_events(store)
    baseline = best(lambda: _hash_loop(blobs), repeat)
    return Figure(
        events / seconds,
        "events/s",
        events / baseline,
        "hashlib.sha256 loop over the same canonical event bytes (leaf, then chain link)",
        target=150_000,
        at_most=False,
        extra={"events": events},
    )


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    if getattr(result, "ok", True) is False:
        raise RuntimeError(f"the chain does not verify: {result}")
    return seconds


_SORTED = tuple(sorted(EVENT_FIELDS))


def _canonical_events(store: Store) -> list[bytes]:
    """Each event's hashed bytes (0x00 and its canonical JSON), checked against its leaf."""
    import hashlib

    out = []
    for row in store.conn.execute("SELECT * FROM events ORDER BY seq"):
        parts = []
        for name in _SORTED:
            value = row[name] if name == "payload" else json.dumps(row[name], ensure_ascii=False)
            parts.append(f'"{name}":{value}')
        data = b"\x00" + ("{" + ",".join(parts) + "}").encode()
        if len(out) < 10 and hashlib.sha256(data).hexdigest() != row["leaf"]:
            raise RuntimeError(f"event {row['seq']}: the baseline's bytes are not its leaf's")
        out.append(data)
    return out


def _hash_loop(blobs: list[bytes]) -> float:
    from hashlib import sha256

    started = time.perf_counter()
    previous = GENESIS
    for data in blobs:
        previous = sha256(b"\x02" + previous + sha256(data).digest()).digest()
    return time.perf_counter() - started


# -- commands, as processes -------------------------------------------------------------------

_READ_EVENTS = """
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in conn.execute("SELECT * FROM events ORDER BY seq"):
    json.loads(row[8])
"""
_DUMP_WPS = """
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
conn.row_factory = sqlite3.Row
rows = [dict(r) for r in conn.execute("SELECT * FROM work_packages ORDER BY id")]
sys.stdout.write(json.dumps(rows))
"""


def replay(ws: Workspace, larger: Workspace, repeat: int) -> tuple[Figure, Figure]:
    """`cockpit replay --json` as a process: seconds on `ws` (about 100k events), and its
    peak RSS there and on `larger` (the most of the two: memory must not grow with the log);
    baseline: a process that reads every event and parses its payload (streaming)."""
    command = processes.cockpit("replay", "--json", "-w", str(ws.root))
    runs = [processes.command(command) for _ in range(max(repeat, 1))]
    floor = processes.command([processes.PYTHON, "-c", _READ_EVENTS, str(ws.db_path)])
    what = "a process reading every event and parsing its payload"
    seconds = Figure(
        min(r.seconds for r in runs),
        "s",
        floor.seconds,
        what,
        target=4,
        extra={"events": _events(ws), "wps": _wps(ws)},
    )
    big = processes.command(processes.cockpit("replay", "--json", "-w", str(larger.root)))
    big_floor = processes.command([processes.PYTHON, "-c", _READ_EVENTS, str(larger.db_path)])
    rss = {_events(ws): max(r.rss_mb for r in runs), _events(larger): big.rss_mb}
    return seconds, Figure(
        max(rss.values()),
        "MB",
        max(floor.rss_mb, big_floor.rss_mb),
        what,
        target=150,
        extra={"rss_mb_by_events": rss},
    )


def _events(ws: Workspace) -> int:
    with Store.open_readonly(ws.db_path) as store:
        return store.head_seq()


def status(ws: Workspace, repeat: int, target: float) -> Figure:
    """`cockpit status --json` as a process: seconds (and its peak RSS); baseline: a
    process dumping every work_packages row as JSON."""
    runs = [
        processes.command(processes.cockpit("status", "--json", "-w", str(ws.root)))
        for _ in range(repeat)
    ]
    floor = processes.command([processes.PYTHON, "-c", _DUMP_WPS, str(ws.db_path)])
    rss = max(r.rss_mb for r in runs)
    return Figure(
        min(r.seconds for r in runs),
        "s",
        floor.seconds,
        "a process dumping every work_packages row as JSON",
        target=target,
        extra={
            "wps": _wps(ws),
            "rss_mb": rss,
            "rss_target_mb": 150,
            "rss_ok": rss <= 150,
            "baseline_rss_mb": floor.rss_mb,
        },
    )


def _wps(ws: Workspace) -> int:
    with Store.open_readonly(ws.db_path) as store:
        return int(store.conn.execute("SELECT count(*) FROM work_packages").fetchone()[0])


# -- the TUI -----------------------------------------------------------------------------------


def first_paint(ws: Workspace, repeat: int) -> tuple[Figure, Figure]:
    """`cockpit -w WS` spawned on a pseudo-terminal, timed until the board shows its first
    row (MARKER in its output): the whole process, imports and all. Baseline: Textual's
    DataTable loading the same first page (200 rows); floor: a bare Textual app. Also the
    TUI's peak RSS against the bare app's."""
    tui = [
        processes.first_paint(processes.cockpit("-w", str(ws.root)), MARKER) for _ in range(repeat)
    ]
    table = [
        processes.first_paint(_app("datatable", str(ws.db_path), "200"), MARKER)
        for _ in range(repeat)
    ]
    bare = [processes.first_paint(_app("bare"), MARKER) for _ in range(repeat)]
    imports = min(
        float(processes.command([processes.PYTHON, "-c", _IMPORT], capture=True).stdout)
        for _ in range(repeat)
    )
    wps = _wps(ws)
    paint = Figure(
        min(r.seconds for r in tui),
        "s",
        min(r.seconds for r in table),
        "Textual DataTable with the same first page (200 rows), same pseudo-terminal",
        target=0.8,
        extra={
            "wps": wps,
            "median": _round(statistics.median(r.seconds for r in tui)),
            "floor": _round(min(r.seconds for r in bare)),
            "floor_is": "a bare Textual app",
            "import_s": _round(imports),
            "import_is": "`import cockpit.app` in a fresh interpreter (part of the value)",
            "how": "`cockpit -w WS` spawned on a 120x40 pseudo-terminal, until its output "
            "shows the first row's id; the best of the runs (each figure alike)",
        },
    )
    rss = Figure(
        max(r.rss_mb for r in tui),
        "MB",
        max(r.rss_mb for r in bare),
        "a bare Textual app",
        target=300,
        extra={"wps": wps, "target_is": "not given; 300 MB taken"},
    )
    return paint, rss


# What importing the app costs, timed inside a fresh interpreter (its start and exit left out).
_IMPORT = "import time; t = time.perf_counter(); import cockpit.app; print(time.perf_counter() - t)"


def _app(*args: str) -> list[str]:
    return [processes.PYTHON, str(HERE / "tui_apps.py"), *args]


def drop_to_row(template: Workspace, drops: int) -> Figure:
    """The Cockpit app open headless on a copy of `template`, ingesting (it sweeps on each
    change in queue/new): `drops` bookings delivered one at a time, each timed until its
    row is on the board; the median. Baseline: the queue watcher alone (watchfiles, with
    the app's debounce) seeing the same deliveries."""
    wps = _wps(template)
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        root = Path(scratch) / "ws"
        shutil.copytree(template.root, root)
        run = processes.command(_app("drop", str(root), str(drops)), capture=True)
    samples = json.loads(run.stdout)["ms"]
    return Figure(
        statistics.median(samples),
        "ms",
        watcher_floor(drops),
        "the queue watcher alone (watchfiles.awatch, debounce 200 ms) seeing the same drop",
        target=150,
        extra={
            "wps": wps,
            "drops": len(samples),
            "p90": _round(sorted(samples)[int(len(samples) * 0.9) - 1]),
            "how": "CockpitApp headless (App.run_test) ingesting; each entry delivered "
            "tmp/ then linked into queue/new; until the board's table holds its row",
        },
    )


def watcher_floor(drops: int) -> float:
    """p50 ms from delivering an entry to `watchfiles.awatch` (debounce 200 ms, as the app
    watches queue/new) reporting it."""
    import watchfiles

    from cockpit.engine.workspace.scaffold import init_workspace

    async def main(ws: Workspace) -> list[float]:
        stop = asyncio.Event()
        seen: asyncio.Queue[float] = asyncio.Queue()

        async def watch() -> None:
            async for _ in watchfiles.awatch(
                ws.queue_dir("new"), stop_event=stop, debounce=200, recursive=False
            ):
                seen.put_nowait(time.perf_counter())

        task = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        samples = []
        for n in range(drops):
            started = time.perf_counter()
            maildir.deliver(ws, f"{n}.yaml", booking(n))
            samples.append((await asyncio.wait_for(seen.get(), 10) - started) * 1000)
            await asyncio.sleep(0.1)
            while not seen.empty():
                seen.get_nowait()
        stop.set()
        await task
        return samples

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        ws = init_workspace(Path(scratch) / "ws", tenant="bench")
        return statistics.median(asyncio.run(main(ws)))


# -- the Changes tab ---------------------------------------------------------------------------


def changes_open(lines: int, repeat: int) -> Figure:
    """The Changes tab of a `lines`-line diff opened on top of the WP's screen (the app
    headless, benchmarks/changes_bench.py): the median of `repeat` opens, each on a fresh
    WP screen (`first`, the session's first, and `cold`, the screen opened and the tab
    pressed at once, and `git diff BASE` as a process, beside it); baseline: the same
    screen's Verify tab shown the same way."""
    import changes_bench

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        found = changes_bench.measure(Path(scratch), lines, repeat)
    return Figure(
        found["median_s"],
        "s",
        found["verify_tab_s"],
        "the same screen's Verify tab (a Static) shown the same way, median",
        target=0.3,
        extra={
            "lines": lines,
            "git_diff": _round(found["git_diff_s"]),
            "rows": found["rows"],
            "first": _round(found["first_s"]),
            "samples": [_round(s) for s in found["samples_s"]],
            "cold": _round(found["cold_median_s"]),
            "how": "CockpitApp headless (App.run_test, 120x40) on the WP's screen, its reads "
            "settled (the screen computes the change as it opens): from the 6 key's action "
            "until the diff view holds the file's rows and the screen has refreshed with "
            "them; `cold`: the WP's screen opened and the tab shown at once, until the same "
            "(median)",
        },
    )


# -- the gate ----------------------------------------------------------------------------------


def gate(claims: int) -> Figure:
    """The live verify gate on `claims` fresh claims (benchmarks/gate_bench.py): median ms
    of `run_gate`; baseline: `git diff --name-only BASE` in the same worktree."""
    import gate_bench

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        found = gate_bench.measure(Path(scratch), claims)
    return Figure(
        found["p50"],
        "ms",
        found["baseline_p50"],
        "`git diff --name-only BASE` in the same worktree, as a process",
        extra={"claims": claims, "outcomes": found["outcomes"], "target_is": "none given"},
    )
