"""Cockpit benchmarks: one command, ratios against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py [--wps 10000] [--entries 500]
        [--signed-wps 500] [--repeat 3] [--profile-signed FILE]

The baseline is reading every work package's id, title and state from the same SQLite
file (what a board that loads everything would pay before drawing anything), so the ratios
say what the product's own work costs against it on this machine, comparable across
machines: a paged board must stay far below 1.

Then ingest throughput under `policy.signatures: required` against unsigned, in fresh real
workspaces (benchmarks/ingest_signatures.py): `--signed-wps` bookings plus a dispatch of
each, swept `--repeat` times each way; it prints entries/s of each, the ratio signed/unsigned
and PASS or FAIL against 0.80 (SPEC 10.1's acceptance), and the stricter ratio against
unsigned entries that do not name their tenant and workspace. `--profile-signed FILE` also
writes a cProfile of one more signed sweep to FILE (`python -m pstats FILE`).
`--signed-wps 0` skips it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ingest_signatures  # benchmarks/, beside this file

from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import NewEvent
from cockpit.store import board as board_queries


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of `repeat` runs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def book(n: int) -> dict[str, object]:
    return {
        "id": f"WP-{n:06d}",
        "kind": "work_package",
        "work_package": f"WP-{n:06d}",
        "principal": "human:owner",
        "created": "2026-11-21T10:00:00Z",
        "refs": [],
        "body": {
            "title": f"work package {n}",
            "objective": "o",
            "owner": "agent:implementer-1",
            "accountable": "human:owner",
            "tier": "light",
            "lane": "implementation",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wps", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--signed-wps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile-signed", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "bench", tenant="demo")
        store = ws.open_store()
        started = time.perf_counter()
        with store.transaction():
            for n in range(args.wps):
                entry = book(n)
                store.append(
                    NewEvent(
                        "task_created",
                        entry["id"],
                        "human:owner",  # type: ignore[arg-type]
                        entry["id"],
                        {
                            "entry": entry,
                            "sha256": f"{n:064x}",  # type: ignore[arg-type]
                            "file": None,
                            "raw": "",
                            "edges": [],
                            "transition": {"from": None, "to": "booked"},
                        },
                    )
                )
        append_s = time.perf_counter() - started

        everything = board_queries.BoardFilter()
        baseline = timed(
            lambda: store.conn.execute("SELECT id, title, state FROM work_packages").fetchall()
        )
        first_page = timed(lambda: board_queries.page(store, everything, limit=60))
        deep_page = timed(
            lambda: board_queries.page(store, everything, offset=args.wps - 60, limit=60)
        )
        filtered = timed(
            lambda: board_queries.page(
                store, board_queries.BoardFilter(text="work package 99"), limit=60
            )
        )
        attention = timed(
            lambda: board_queries.count(store, board_queries.BoardFilter(attention=True))
        )
        verify = timed(store.verify_chain, repeat=3)

        new = ws.queue_dir("new")
        for n in range(args.entries):
            entry = book(args.wps + n)
            body = entry["body"]
            assert isinstance(body, dict)
            (new / f"{n:05d}.yaml").write_text(
                "schema: cockpit.entry/v1\nkind: work_package\n"
                f"id: {entry['id']}\nwork_package: {entry['id']}\nprincipal: human:owner\n"
                "created: 2026-11-21T10:00:00Z\nbody:\n"
                + "".join(f"  {k}: {v}\n" for k, v in body.items())
            )
        started = time.perf_counter()
        result = Sweeper(ws, store).sweep()
        sweep_s = time.perf_counter() - started
        assert result.ingested == args.entries, result.log[:3]
        store.close()

    rows = [
        ("baseline: read every WP (id, title, state)", baseline),
        ("board first page (60 rows)", first_page),
        (f"board page at row {args.wps - 60}", deep_page),
        ("board text filter page", filtered),
        ("needs-attention count", attention),
        (f"audit verify of {args.wps} events", verify),
    ]
    print(
        f"{args.wps} work packages appended in {append_s:.2f} s "
        f"({args.wps / append_s:,.0f} events/s)"
    )
    print(
        f"{args.entries} queue entries swept in {sweep_s:.2f} s "
        f"({args.entries / sweep_s:,.0f} entries/s)"
    )
    print(f"{'measure':<42} {'median':>10} {'x baseline':>12}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds * 1000:>8.2f}ms {seconds / baseline:>12.1f}")
    if args.signed_wps > 0:
        print()
        signatures = ingest_signatures.run(
            args.signed_wps, args.repeat, profile=args.profile_signed
        )
        ingest_signatures.report(signatures)


if __name__ == "__main__":
    main()
