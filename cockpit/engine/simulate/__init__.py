"""`cockpit simulate` (issue 16): what the gate catches and what it costs, measured against
an ungated baseline on a scratch workspace with the current workspace's policy.

`simulate(ws, tasks, agents, faults, seed)` builds the scratch workspace in a temporary
directory (removed afterwards), drives the simulated owner and agents through the real
queue, runner and gate (`drive`), and returns the report (`tally`); `markdown` words it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.engine.simulate import faults, world
from cockpit.engine.simulate.drive import Simulation
from cockpit.engine.simulate.report import markdown
from cockpit.engine.simulate.tally import SCHEMA, tally
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError

__all__ = ["last_report", "markdown", "save_report", "simulate"]
# Where `cockpit simulate` keeps its last report for the TUI (outside the record).
LAST = ".cockpit/simulations/last.json"
TASKS_MAX = 100_000
AGENTS_MAX = 1_000


def simulate(
    ws: Workspace,
    tasks: int,
    agents: int,
    spec: str,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run one simulation on `ws`'s policy; the report's document. InputError for
    arguments out of range or a bad fault spec. `progress(round, settled WPs)` is called
    after every round."""
    if not 1 <= tasks <= TASKS_MAX:
        raise InputError(f"--tasks must be between 1 and {TASKS_MAX}, not {tasks}")
    if not 1 <= agents <= AGENTS_MAX:
        raise InputError(f"--agents must be between 1 and {AGENTS_MAX}, not {agents}")
    rates = faults.parse_spec(spec)
    settings = {
        "tasks": tasks,
        "agents": agents,
        "seed": seed,
        "faults": {kind: str(rate) for kind, rate in rates.items()},
        "signatures": ws.config.policy.signatures,
        "failed_on": [str(p) for p in ws.config.policy.failed_on],
        "evidence_floors": {t.value: c.evidence_floor.value for t, c in ws.config.tiers.items()},
    }
    with tempfile.TemporaryDirectory(prefix="cockpit-simulate-") as scratch:
        made = world.build(Path(scratch) / "ws", ws.config, agents, seed)
        sim = Simulation(made, tasks, rates, seed)
        for number in sim.rounds():
            if progress is not None:
                progress(number, sum(1 for c in sim.courses.values() if c.settled))
        with made.ws.open_store(sim.clock) as store:
            return tally(sim, store, settings)


def save_report(ws: Workspace, doc: dict[str, Any]) -> Path:
    """Keep `doc` as the workspace's last simulation report (written whole, then renamed)."""
    path = ws.root / LAST
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def last_report(ws: Workspace) -> dict[str, Any] | None:
    """The workspace's last simulation report, or None when there is none (or it cannot be
    read as one)."""
    try:
        doc = json.loads((ws.root / LAST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA else None
