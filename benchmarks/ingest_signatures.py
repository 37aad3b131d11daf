"""Ingest throughput with `policy.signatures: required` against unsigned (SPEC 10.1).

Two real workspaces per repeat, each fresh: one under `signatures: optional` whose entries
carry no signature, one under `signatures: required` whose owner has a real Ed25519 key (made
by ssh-keygen) in `principals.human:owner.keys` and whose runner has `runner.key` (outside
the workspace). Both get the same workload: WPS bookings and a dispatch of each, ingested by
`Sweeper(ws, store).sweep()` after `cockpit.engine.trust.record.attach(ws, store)`, as the
runner does: under `required` the sweep verifies every entry's SSHSIG and the runner signs
every event it appends; attach does nothing for the unsigned one, which has no runner key.
Both workspaces' entries carry `tenant:` and `workspace:` (naming their own workspace: the
same bytes but for the id), which `required` demands and `optional` accepts, so the two
workloads differ only in the signatures and what is done with them: that ratio is the
verdict. A third series, unsigned entries without those two lines (what an unsigned queue
usually holds), gives the stricter ratio, printed with its own PASS or FAIL.

Signing the entries (in-process, cryptography) is setup and not measured; one signature is
checked once with `ssh-keygen -Y verify`, so what is measured is real SSHSIG. The measure is
the sweep alone (attach, which appends one `config_applied`, runs before the clock starts).

Each way is measured `repeat` times, in turn, each in a fresh workspace, after one small
unmeasured warm-up sweep of each. The verdict is on the best wall-clock time of the repeats
(others' load on a shared machine only ever slows a run down, as `timeit` reasons); medians
and this process's CPU time (which others' load cannot skew, but which leaves out fsync
waits) are printed beside it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.trust import record, sshsig
from cockpit.engine.trust.keys import HeldKey, init_runner_key, load_key
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace

THRESHOLD = 0.80
OWNER = "human:owner"
VERIFY = ("ssh-keygen", "-Y", "verify")


SERIES = {
    "signed": "signed (signatures: required)",
    "unsigned": "unsigned, same entries (optional)",
    "bare": "unsigned, no tenant/workspace lines",
}


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)  # wall-clock seconds of each sweep
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds of each


@dataclass
class Result:
    entries: int
    series: dict[str, Samples] = field(default_factory=lambda: {k: Samples() for k in SERIES})

    def rate(self, name: str, how: str = "best") -> float:
        wall = self.series[name].wall
        return self.entries / (min(wall) if how == "best" else statistics.median(wall))

    def ratio(self, against: str = "unsigned", how: str = "best") -> float:
        return self.rate("signed", how) / self.rate(against, how)

    def cpu_ratio(self, against: str = "unsigned") -> float:
        return min(self.series[against].cpu) / min(self.series["signed"].cpu)


def entries(wps: int) -> list[tuple[str, str]]:
    """(file name, text) of WPS bookings and a dispatch of each (a minute later, so that
    the sweep's order, by `created`, takes the bookings first), created a few minutes ago."""
    stamp = [
        datetime.fromtimestamp(time.time() - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for ago in (180, 120)
    ]
    out = []
    for n in range(wps):
        wp = f"WP-{n:06d}"
        common = f"work_package: {wp}\nprincipal: {OWNER}\n"
        out.append(
            (
                f"{n:06d}-a.yaml",
                f"schema: cockpit.entry/v1\nkind: work_package\nid: {wp}\n{common}"
                f"created: {stamp[0]}\n"
                f"body:\n  title: work package {n}\n  objective: o\n"
                f"  owner: agent:implementer-1\n  accountable: {OWNER}\n"
                "  tier: light\n  lane: implementation\n",
            )
        )
        out.append(
            (
                f"{n:06d}-b.yaml",
                f"schema: cockpit.entry/v1\nkind: dispatch\nid: DSP-{wp}\n{common}"
                f"created: {stamp[1]}\n"
                "body:\n  to: agent:implementer-1\n",
            )
        )
    return out


def make_owner_key(directory: Path) -> Path:
    path = directory / "owner_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "owner", "-f", str(path)],
        check=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return path


def configure_signed(ws: Workspace, owner: HeldKey, runner_key: Path) -> Workspace:
    """Put the owner's key, `signatures: required` and `runner.key` into cockpit.yaml."""
    config = ws.root / "cockpit.yaml"
    text = config.read_text(encoding="utf-8")
    line = f"  {OWNER}:         {{roles: [owner]}}"
    assert line in text, "the default config's owner line changed"
    text = text.replace(
        line, f'  {OWNER}:         {{keys: ["{owner.public.line()}"], roles: [owner]}}'
    )
    text = text.replace("policy:\n", "policy:\n  signatures: required\n", 1)
    text = text.replace("runner:\n", f"runner:\n  key: {runner_key}\n", 1)
    config.write_text(text, encoding="utf-8")
    loaded = Workspace.load(ws.root)
    assert loaded.config.signatures_required and loaded.config.keys_of(OWNER)
    return loaded


def drop(ws: Workspace, files: list[tuple[str, str]], signer: HeldKey | None) -> None:
    new = ws.queue_dir("new")
    past = time.time() - 5  # not young: the sweep takes every file at once
    for name, text in files:
        data = text.encode()
        if signer is not None:
            sig = new / (name + ".sig")
            sig.write_text(signer.sign(data, sshsig.ENTRY))
            os.utime(sig, (past, past))
        path = new / name
        path.write_bytes(data)
        os.utime(path, (past, past))


def check_with_ssh_keygen(owner: HeldKey, directory: Path, text: str) -> None:
    """`ssh-keygen -Y verify` accepts a signature made the way the benchmark makes them."""
    allowed = directory / "allowed_signers"
    allowed.write_text(f'owner namespaces="{sshsig.ENTRY}" {owner.public.line()}\n')
    sig = directory / "check.sig"
    sig.write_text(owner.sign(text.encode(), sshsig.ENTRY))
    done = subprocess.run(
        [*VERIFY, "-f", str(allowed), "-I", "owner", "-n", sshsig.ENTRY, "-s", str(sig)],
        input=text.encode(),
        capture_output=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise SystemExit(f"ssh-keygen -Y verify refused the benchmark's SSHSIG: {done.stderr!r}")


def measure(
    root: Path,
    files: list[tuple[str, str]],
    signer: HeldKey | None = None,
    runner_key: Path | None = None,
    *,
    header: bool = True,
) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one sweep of `files` in a fresh workspace at `root`
    (with `header`, each entry names the workspace's tenant and id)."""
    ws = init_workspace(root, tenant="demo")
    if signer is not None:
        assert runner_key is not None
        ws = configure_signed(ws, signer, runner_key)
    if header:
        lines = f"tenant: {ws.config.tenant}\nworkspace: {ws.config.workspace}\n"
        files = [(name, text.replace("body:\n", lines + "body:\n", 1)) for name, text in files]
    drop(ws, files, signer)
    with ws.open_store() as store:
        held = record.attach(ws, store)
        assert (held is not None) == (signer is not None)
        started, cpu = time.perf_counter(), time.process_time()
        result = Sweeper(ws, store).sweep()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.ingested == len(files), (result.counts(), result.log[:3])
    return seconds, cpu


def run(wps: int, repeat: int, *, profile: Path | None = None) -> Result:
    """Measure `repeat` times each way, in turn (fresh workspaces)."""
    files = entries(wps)
    result = Result(len(files))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        keys = base / "keys"
        keys.mkdir(mode=0o700)
        owner = load_key(make_owner_key(keys))
        runner_key = keys / "runner_ed25519"
        init_runner_key(runner_key)
        check_with_ssh_keygen(owner, keys, files[0][1])
        ways = {
            "unsigned": lambda root, files: measure(root, files),
            "signed": lambda root, files: measure(root, files, owner, runner_key),
            "bare": lambda root, files: measure(root, files, header=False),
        }
        for name, way in ways.items():
            way(base / f"warm-{name}", files[:20])
        for i in range(repeat):
            for name, way in ways.items():
                wall, cpu = way(base / f"{name}-{i}", files)
                result.series[name].wall.append(wall)
                result.series[name].cpu.append(cpu)
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            ways["signed"](base / "signed-profile", files)
            profiler.disable()
            profiler.dump_stats(profile)
    return result


def report(result: Result) -> None:
    def verdict(ratio: float) -> str:
        return "PASS" if ratio >= THRESHOLD else "FAIL"

    print(
        f"ingest of {result.entries} entries (bookings + dispatches), entries/s, "
        f"best (median) of {len(result.series['signed'].wall)} sweeps each:"
    )
    for name, label in SERIES.items():
        samples = result.series[name]
        print(
            f"  {label:<36} {result.rate(name):>5,.0f} ({result.rate(name, 'median'):,.0f})"
            f"  wall [{', '.join(f'{s:.2f}' for s in samples.wall)} s]"
            f"  CPU best {min(samples.cpu):.2f} s"
        )
    ratio = result.ratio()
    print(
        f"  signed / unsigned (same entries) = {ratio:.2f} ({result.ratio(how='median'):.2f}); "
        f"CPU {result.cpu_ratio():.2f}; threshold {THRESHOLD:.2f}: {verdict(ratio)}"
    )
    bare = result.ratio("bare")
    print(
        f"  signed / unsigned without tenant/workspace lines = {bare:.2f} "
        f"({result.ratio('bare', 'median'):.2f}); CPU {result.cpu_ratio('bare'):.2f}: "
        f"{verdict(bare)}"
    )
