"""Benchmark workspaces: N work packages in a realistic mix of states, about three events
each, appended through the store's own API so the rows are exactly what ingest writes.

    .venv/bin/python benchmarks/build.py --wps 1000000 [--events-per-wp 3] [--cache DIR]

`build(root, wps)` makes one in `root`; `cached(cache, wps)` reuses one built before under
`cache` (keyed by size, mix version and store schema) and builds it there otherwise.

Every WP is booked (`task_created`); most go on: a dispatch, a scope confirmation, an
owner's go, common ground, as the queue's sweep would record them from the same entry files
(payloads as ingest writes them: the parsed entry, its raw text, hash and file name). About one in
ten needs attention (its agent declined the scope, or the runner could not make its
worktree) and one in twenty is cancelled. No WP is left `claimed`: a TUI or runner opened on
the workspace would start the gate on every one of them.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import NewEvent, Store
from cockpit.store.schema import (
    SCHEMA_VERSION,
    STATE_COUNT_TRIGGERS,
    board_indexes,
    create_board_schema,
)

MIX_VERSION = 2  # bump when the events a build writes change: cached workspaces are rebuilt
BATCH = 20_000  # events per transaction
OWNER = "human:owner"
AGENT = "agent:implementer-1"
RUNNER = "cockpit:runner"
BASE = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

# Titles drawn from small word lists, so a text filter matches some rows and not others.
VERBS = ("Add", "Fix", "Refactor", "Document", "Remove", "Speed up", "Test", "Migrate")
THINGS = (
    "login form",
    "billing export",
    "search index",
    "audit trail",
    "retry policy",
    "CSV import",
    "dark theme",
    "rate limiter",
    "session cache",
    "webhook handler",
    "PDF report",
    "user settings",
)
PLACES = ("api", "web", "worker", "cli", "mobile", "admin", "payments")
TIERS = ("light", "standard", "standard", "deep")

# Depth offsets around `events_per_wp` (mean 0 over the cycle): how far along its
# lifecycle each WP of a cycle of twenty goes.
OFFSETS = (0, 1, -1, 0, 2, -2, 0, 1, -1, 0, 0, 1, -1, 0, 1, -1, 0, 2, -2, 0)


def title(n: int) -> str:
    return (
        f"{VERBS[n % len(VERBS)]} {THINGS[(n // 8) % len(THINGS)]} "
        f"in {PLACES[(n // 96) % len(PLACES)]} (#{n})"
    )


def wp_id(n: int) -> str:
    return f"WP-{n:06d}"  # nine characters: the board's ID column shows them whole


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _yaml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filed(
    kind: str,
    entry_id: str,
    wp: str,
    principal: str,
    created: str,
    body: dict[str, Any],
    file: str,
    defaults: dict[str, Any],
) -> dict[str, Any]:
    """The payload part ingest records for a filed entry: the parsed entry (body with the
    kind's defaults), its file name, raw text and hash, no edges, and the unsigned mark
    that `policy.signatures: optional` leaves on it."""
    raw = (
        f"schema: cockpit.entry/v1\nkind: {kind}\nid: {entry_id}\nwork_package: {wp}\n"
        f"principal: {principal}\ncreated: {created}\nbody:\n"
        + "".join(f"  {k}: {_yaml_value(v)}\n" for k, v in body.items())
    )
    return {
        "edges": [],
        "entry": {
            "body": {**defaults, **body},
            "created": created,
            "id": entry_id,
            "kind": kind,
            "principal": principal,
            "refs": [],
            "schema": "cockpit.entry/v1",
            "tenant": None,
            "work_package": wp,
        },
        "file": file,
        "raw": raw,
        "sha256": hashlib.sha256(raw.encode()).hexdigest(),
        "signature": {"unsigned": True},
    }


def _moved(old: str | None, new: str) -> dict[str, Any]:
    return {"transition": {"from": old, "to": new}}


def lifecycle(n: int, depth: int) -> Iterator[NewEvent]:
    """The events of WP number `n`, `depth` steps along (1: booked, 2: dispatched, 3: scope
    confirmed, 4: in progress, 5: with its common ground filed). In every twenty WPs one
    declines its scope and one has its worktree fail instead of the go (both need
    attention), and one is cancelled."""
    wp = wp_id(n)
    created = BASE + timedelta(seconds=n)
    booking = {
        "title": title(n),
        "objective": f"{title(n)}: done when its checks pass",
        "owner": AGENT,
        "accountable": OWNER,
        "tier": TIERS[n % len(TIERS)],
        "lane": "implementation",
        "success_criteria": ["the checks pass"],
        "labels": [PLACES[(n // 96) % len(PLACES)]],
    }
    book_defaults = {
        "base_ref": None,
        "description": None,
        "evidence_floor": None,
        "forbidden_surfaces": [],
        "owned_surfaces": [],
        "rollback_plan": None,
        "target_repo": None,
        "validation_commands": [],
    }
    yield NewEvent(
        "task_created",
        wp,
        OWNER,
        wp,
        {
            **_filed(
                "work_package", wp, wp, OWNER, _stamp(created), booking, f"{wp}.yaml", book_defaults
            ),
            **_moved(None, "booked"),
        },
    )
    if depth < 2:
        return
    if depth == 2 and n % 20 == 8:
        yield NewEvent(
            "task_cancelled",
            wp,
            OWNER,
            None,
            {"reason": "no longer needed", **_moved("booked", "cancelled")},
        )
        return
    dsp = f"DSP-{wp}"
    yield NewEvent(
        "dispatched",
        wp,
        OWNER,
        dsp,
        {
            **_filed(
                "dispatch",
                dsp,
                wp,
                OWNER,
                _stamp(created + timedelta(minutes=1)),
                {"to": AGENT},
                f"{dsp}.yaml",
                {"description": None, "next_gate": None},
            ),
            "to": AGENT,
            **_moved("booked", "dispatched"),
        },
    )
    if depth < 3:
        return
    scp = f"SCP-{wp}"
    declined = depth == 3 and n % 20 == 0
    scope = _filed(
        "scope_confirmation",
        scp,
        wp,
        AGENT,
        _stamp(created + timedelta(minutes=2)),
        {"confirmed": not declined},
        f"{scp}.yaml",
        {"description": None, "notes": None},
    )
    scope["confirmed"] = not declined
    if not declined:
        scope.update(_moved("dispatched", "scope_confirmed"))
    yield NewEvent("scope_confirmed", wp, AGENT, scp, scope)
    if depth < 4:
        return
    if n % 20 == 11:
        error = f"git worktree add failed for wp/{wp}: fatal: invalid reference: main"
        yield NewEvent("worktree_failed", wp, RUNNER, None, {"error": error})
        return
    rev = f"REV-{wp}"
    yield NewEvent(
        "review_recorded",
        wp,
        OWNER,
        rev,
        {
            **_filed(
                "review",
                rev,
                wp,
                OWNER,
                _stamp(created + timedelta(minutes=3)),
                {"verdict": "go"},
                f"{rev}.yaml",
                {"description": None, "findings": [], "merge_sha": None},
            ),
            "verdict": "go",
            **_moved("scope_confirmed", "in_progress"),
        },
    )
    if depth < 5:
        return
    cg = f"CG-{wp}"
    ground = {
        "version": 1,
        "objective": booking["objective"],
        "success_criteria": ["the checks pass"],
    }
    defaults = {
        "accepted_facts": [],
        "assumptions": [],
        "description": None,
        "open_questions": [],
        "stage": None,
    }
    yield NewEvent(
        "common_ground_updated",
        wp,
        OWNER,
        cg,
        _filed(
            "common_ground",
            cg,
            wp,
            OWNER,
            _stamp(created + timedelta(minutes=4)),
            ground,
            f"{cg}.yaml",
            defaults,
        ),
    )


def depth_of(n: int, events_per_wp: int) -> int:
    return min(max(events_per_wp + OFFSETS[n % len(OFFSETS)], 1), 5)


def events(wps: int, events_per_wp: int = 3) -> Iterator[NewEvent]:
    """Every WP's events, WP after WP (as the owner would book and move them one by one)."""
    for n in range(wps):
        yield from lifecycle(n, depth_of(n, events_per_wp))


class _Ticker:
    """The store's clock during a build: 10 ms a step from the booking day, so every
    build of the same size has the same timestamps (and the same hashes)."""

    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=10)
        return self.now


def build(root: Path, wps: int, events_per_wp: int = 3) -> Workspace:
    """A workspace in `root` (which must not hold one) with `wps` work packages and about
    `events_per_wp` events each, appended with `Store.append` in transactions of BATCH
    events. Raises InputError if `root` already holds a workspace."""
    ws = init_workspace(root, tenant="bench")
    with ws.open_store(_Ticker()) as store:
        # A large page cache for the build's connection only, and the board's indexes and
        # state counts made once at the end rather than kept up row by row: the same rows.
        store.conn.execute("PRAGMA cache_size = -1000000")
        with store.transaction():
            for name in board_indexes():
                store.conn.execute(f"DROP INDEX IF EXISTS {name}")
            for name in STATE_COUNT_TRIGGERS:
                store.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        stream = events(wps, events_per_wp)
        done = False
        while not done:
            with store.transaction():
                for _ in range(BATCH):
                    new = next(stream, None)
                    if new is None:
                        done = True
                        break
                    store.append(new)
        with store.transaction():
            create_board_schema(store.db)
    return ws


def cache_key(wps: int, events_per_wp: int) -> str:
    return f"ws-{wps}-e{events_per_wp}-m{MIX_VERSION}-s{SCHEMA_VERSION}"


def cached(cache: Path, wps: int, events_per_wp: int = 3, *, log: bool = True) -> Workspace:
    """The workspace of this size under `cache`, built there first if it is not yet: built
    in a scratch directory beside it and renamed into place, so a build cut short is never
    taken for a finished one."""
    target = cache / cache_key(wps, events_per_wp)
    if (target / "cockpit.yaml").is_file():
        ws = Workspace.load(target)
        # Brings a store built by an earlier Cockpit up to date, as opening it and the
        # first batch of a sweep do (the batch retires an earlier count trigger).
        with ws.open_store() as store, store.transaction(booking=True):
            pass
        return ws
    cache.mkdir(parents=True, exist_ok=True)
    scratch = cache / f"{target.name}.building"
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    if log:
        print(f"building {wps:,} WPs in {target} ...", file=sys.stderr, flush=True)
    build(scratch, wps, events_per_wp)
    scratch.rename(target)
    if log:
        took = time.perf_counter() - started
        print(f"built {wps:,} WPs in {took:.1f} s", file=sys.stderr, flush=True)
    return Workspace.load(target)


def describe(ws: Workspace) -> dict[str, Any]:
    """What a built workspace holds: events, WPs by state, WPs that need attention."""
    from cockpit.store import board

    with Store.open(ws.db_path) as store:
        return {
            "events": store.head_seq(),
            "states": board.state_counts(store),
            "attention": board.attention_count(store),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wps", type=int, default=100_000)
    parser.add_argument("--events-per-wp", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--verify", action="store_true", help="verify the chain afterwards")
    args = parser.parse_args()
    cache = args.cache or default_cache()
    started = time.perf_counter()
    ws = cached(cache, args.wps, args.events_per_wp)
    print(f"{ws.root} ready in {time.perf_counter() - started:.1f} s")
    print(describe(ws))
    if args.verify:
        with Store.open(ws.db_path) as store:
            started = time.perf_counter()
            report = store.verify_chain()
            print(f"verify: {report.to_json()} in {time.perf_counter() - started:.1f} s")


def default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "cockpit-bench"


if __name__ == "__main__":
    main()
