"""Cockpit benchmarks: one command, every figure against a baseline measured in the same
run on the same machine (docs/performance.md says what each one is).

    .venv/bin/python benchmarks/run.py [--json] [--quick] [--cache DIR] [--growth-out FILE]
        [--signed-wps N] [--repeat 3] [--profile-signed FILE]

Workspaces of 10k, 100k and (without --quick) 1M work packages are built once by
benchmarks/build.py and kept under `--cache DIR` (default: the temp dir's cockpit-bench),
so reruns start at once; nothing measured writes to them (what ingests works on a copy).

`--json` prints one JSON object, a key per figure, each {"value", "unit", "baseline",
"ratio" (value / baseline), "target", "ok", ...}. `--quick` (under 3 minutes on 2 cores)
takes the TUI's first paint at 100k WPs instead of 1M and runs each measure fewer times.
Without --json it prints the same figures as a table, then how the board's costs grow with
the workspace (benchmarks/growth.py; with --json only into `--growth-out FILE`), then
ingest under `policy.signatures: required` against unsigned (benchmarks/ingest_signatures.py:
`--signed-wps` bookings and dispatches, `--repeat` times each way, PASS or FAIL against
0.80; `--profile-signed FILE` writes a cProfile of one more signed sweep; 0 skips it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import build  # benchmarks/, beside this file
import figures
import growth
import ingest_signatures

ENTRIES = 500  # ingest: bookings swept at once
DROPS = 15  # drop-to-row: entries dropped one at a time
CLAIMS = 15  # gate: claims verified
CHANGED_LINES = 20_000  # the Changes tab: lines of the diff opened


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(cache: Path, quick: bool) -> tuple[dict[str, figures.Figure], list[Any]]:
    """Every figure, and the workspaces it used (small, middle, big)."""
    small = build.cached(cache, 10_000)
    middle = build.cached(cache, 100_000)
    big = middle if quick else build.cached(cache, 1_000_000)
    few, some = (1, 2) if quick else (2, 3)
    found: dict[str, figures.Figure] = {}
    say("ingest ...")
    found["ingest_entries_per_s"] = figures.ingest(small, ENTRIES, first=10_000, repeat=5)
    say("audit verify ...")
    found["audit_verify_events_per_s"] = figures.audit_verify(middle, 3)  # best of 3
    say("replay ...")
    # replay_100k_s is taken on about 100k events; its RSS is also read at 300k.
    hundred_k_events = build.cached(cache, 33_334)
    found["replay_100k_s"], found["replay_rss_mb"] = figures.replay(hundred_k_events, middle, some)
    say("status --json ...")
    found["status_json_10k_s"] = figures.status(small, some, target=0.3)
    found["status_json_100k_s"] = figures.status(middle, few, target=1.5)
    say("TUI first paint ...")
    paint, rss = figures.first_paint(big, 3)
    found["tui_first_paint_s"] = paint
    say("TUI drop to row ...")
    found["tui_drop_to_row_ms_p50"] = figures.drop_to_row(middle, DROPS)
    found["tui_rss_mb"] = rss
    say("verify gate ...")
    found["gate_verify_ms_p50"] = figures.gate(CLAIMS)
    say("TUI Changes tab ...")
    found["tui_changes_open_s"] = figures.changes_open(CHANGED_LINES, few * 2 + 1)
    return found, [small, middle, big]


def print_table(found: dict[str, figures.Figure]) -> None:
    print(f"{'figure':<28} {'value':>14} {'baseline':>14} {'ratio':>8} {'target':>10}  ok")
    for name, figure in found.items():
        doc = figure.to_json()
        target = "" if doc["target"] is None else f"{doc['target']:g}"
        ok = {True: "yes", False: "NO", None: ""}[doc["ok"]]
        ratio = "" if doc["ratio"] is None else f"{doc['ratio']:.2f}"
        print(
            f"{name:<28} {doc['value']:>10g} {doc['unit']:<3} {doc['baseline']:>14g} "
            f"{ratio:>8} {target:>10}  {ok}"
        )
        print(f"{'':<28} baseline: {doc['baseline_is']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="100k-WP first paint, fewer runs")
    parser.add_argument("--cache", type=Path, default=None, help="where built workspaces stay")
    parser.add_argument("--growth-out", type=Path, default=None, help="growth table as JSON")
    parser.add_argument("--signed-wps", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile-signed", type=Path, default=None)
    args = parser.parse_args()
    cache = args.cache or build.default_cache()
    started = time.perf_counter()
    found, workspaces = measure(cache, args.quick)
    document = {name: figure.to_json() for name, figure in found.items()}
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print_table(found)
    if not args.json or args.growth_out:
        say("growth ...")
        sizes = list({ws.root: ws for ws in workspaces}.values())
        results = [growth.measure(ws) for ws in sizes]
        if args.growth_out:
            args.growth_out.write_text(json.dumps(results, indent=2) + "\n")
        if not args.json:
            print()
            print(growth.table(results))
    say(f"done in {time.perf_counter() - started:.0f} s")
    signed = args.signed_wps if args.signed_wps is not None else (0 if args.json else 500)
    if signed > 0:
        print()
        result = ingest_signatures.run(signed, args.repeat, profile=args.profile_signed)
        ingest_signatures.report(result)


if __name__ == "__main__":
    main()
