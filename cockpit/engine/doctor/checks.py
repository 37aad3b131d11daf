"""The doctor's checks. Each says `ok`, `warn` or `fail`, what it found, and (when it is not
ok) what to do; the doctor fails when any check fails.

They read and probe only: the config is loaded, programs are asked their version, the
store is opened as read commands open it (a runner's write-ahead log is read, nothing is
written), the runner lock is read without being taken (taking it, even for a moment, could
make a starting runner fail).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from cockpit.engine.config.model import LaneConfig
from cockpit.engine.doctor.lock import lock_check
from cockpit.engine.doctor.report import FAIL, OK, WARN, Check
from cockpit.engine.drivers.registry import driver
from cockpit.engine.queue import maildir
from cockpit.engine.repo.sandbox import availability
from cockpit.engine.reports import audit as audit_ops
from cockpit.engine.runner import driven, processes
from cockpit.engine.runner.lock import lock_holder
from cockpit.engine.trust import entries as trust_entries
from cockpit.engine.trust import record
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import ConfigError
from cockpit.store import Store
from cockpit.store import board as boards

_PROBE_TIMEOUT_S = 10.0
# Free space under which the workspace's disk is a warning, and a failure.
_LOW_DISK = 1024**3
_NO_DISK = 100 * 1024**2
# An entry waiting longer than this with no runner to take it is a warning.
_STALE_QUEUE_S = 600.0


def run(root: Path) -> list[Check]:
    """Every check of the workspace at `root`, in order: config, git, sandbox, lanes,
    keys, store (chain, replay, checkpoint, counts), runner lock, queue, disk. What needs
    a loaded config is skipped (and said so) when the config does not load."""
    checks: list[Check] = []
    ws, loaded = _config(root)
    checks.append(loaded)
    checks += _guarded(("git",), _git)
    if ws is None:
        checks.append(
            Check(
                "workspace",
                FAIL,
                "not checked further: the config does not load",
                "mend cockpit.yaml, then run `cockpit doctor` again",
            )
        )
    else:
        checks += _guarded(("sandbox",), partial(_sandbox, ws))
        for name, lane in ws.config.lanes.items():
            checks += _guarded((f"lane {name}",), partial(_lane, ws, name, lane))
        checks += _store_checks(ws)
        checks += _guarded(("runner lock",), partial(lock_check, ws))
        checks += _guarded(("queue",), partial(_queue, ws))
    checks += _guarded(("disk",), partial(_disk, ws.root if ws is not None else root))
    return checks


def _guarded(names: tuple[str, ...], check: Callable[[], Check | list[Check]]) -> list[Check]:
    """`check()`, or, if it raises, each of `names` failing with why: what cannot even be
    checked (a directory where a file belongs, a record that does not parse) is found."""
    try:
        found = check()
    except Exception as exc:  # a check that cannot run is a failing check
        said = f"could not be checked: {type(exc).__name__}: {exc}"
        return [Check(n, FAIL, said, "the detail says what stopped the check") for n in names]
    return found if isinstance(found, list) else [found]


def _config(root: Path) -> tuple[Workspace | None, Check]:
    try:
        ws = Workspace.load(root)
    except (ConfigError, OSError, ValueError) as exc:
        return None, Check(
            "config",
            FAIL,
            f"{root}/cockpit.yaml does not load: {exc}",
            "mend it (`cockpit schema config` prints the format)",
        )
    lanes = ", ".join(ws.config.lanes) or "none"
    return ws, Check("config", OK, f"{ws.root}/cockpit.yaml is valid (lanes: {lanes})")


def _version(argv0: str) -> tuple[int | None, str]:
    """(exit status, the first line it printed) of `argv0 --version`; (None, why) if it
    could not be run."""
    try:
        done = subprocess.run(
            [argv0, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    said = (done.stdout or done.stderr).decode("utf-8", "replace").strip().splitlines()
    return done.returncode, said[0][:200] if said else ""


def _git() -> Check:
    path = shutil.which("git")
    fix = "install git (Debian and Ubuntu: `apt install git`): worktrees and merges need it"
    if path is None:
        return Check("git", FAIL, "git is not on PATH", fix)
    status, said = _version(path)
    if status != 0:
        return Check("git", FAIL, f"{path} --version failed: {said or f'exit {status}'}", fix)
    return Check("git", OK, f"{said} ({path})")


def _sandbox(ws: Workspace) -> Check:
    mode = ws.config.runner.sandbox
    found = availability(mode)
    if found.confined:
        return Check("sandbox", OK, f"bubblewrap at {found.bwrap} makes a sandbox here")
    if mode == "off":
        return Check(
            "sandbox",
            WARN,
            "runner.sandbox is off: agents run unconfined",
            "install bubblewrap and set runner.sandbox: auto (or required)",
        )
    fix = "install bubblewrap (Debian and Ubuntu: `apt install bubblewrap`)"
    if mode == "required":
        return Check(
            "sandbox", FAIL, f"{found.problem}; runner.sandbox is required, so no agent starts", fix
        )
    return Check("sandbox", WARN, f"{found.problem}; agents run unconfined", fix)


def _lane(ws: Workspace, name: str, lane: LaneConfig) -> Check:
    check = f"lane {name}"
    path = processes.agent_path(os.environ.get("PATH", os.defpath))  # as an agent gets it
    if lane.driver not in (None, "command"):
        drv = driver(lane.driver)
        assert drv is not None
        try:
            argv = driven.program(drv, lane, ws.root, path)
        except driven.Refusal as refusal:  # a CLI this machine lacks: its agents wait
            return Check(
                check,
                FAIL if lane.command else WARN,
                f"{refusal}: its agents do not start here (cli_missing)",
                f"install {drv.cli}, or set lanes.{name}.command to its executable",
            )
        program = shutil.which(argv[0], path=path) or argv[0]
        status, said = _version(program)
        if status != 0:
            return Check(
                check,
                WARN,
                f"{drv.cli} at {program}, but `--version` failed: {said or f'exit {status}'}",
                f"run `{program} --version` to see why",
            )
        return Check(check, OK, f"{drv.cli} at {program} ({said or 'no version said'})")
    if lane.command is None:
        return Check(check, OK, "starts no agent: its agents read their handoff and submit")
    argv = processes.resolve_command(lane.command, ws.root)
    argv0 = argv[0]
    if "/" in argv0 and not os.path.isabs(argv0):
        argv0 = str((ws.root / argv0).resolve())
    found = shutil.which(argv0, path=path)
    if found is None:
        return Check(
            check,
            FAIL,
            f"its command `{argv0}` is not there, or not executable",
            f"mend lanes.{name}.command in cockpit.yaml",
        )
    # An argument naming a workspace file is made absolute when the file is there.
    missing = [a for a in argv[1:] if _names_a_missing_file(ws.root, a)]
    if missing:
        return Check(
            check,
            FAIL,
            f"its command names {missing[0]}, which is not in the workspace",
            f"mend lanes.{name}.command in cockpit.yaml",
        )
    return Check(check, OK, f"command {found}")


_STORE_CHECKS = ("chain", "checkpoint", "replay", "counts")


def _names_a_missing_file(root: Path, arg: str) -> bool:
    """An argument that reads as a file under one of the workspace's directories (the
    runner makes such an argument absolute when the file is there) that is not there."""
    if "/" not in arg or arg.startswith("-") or os.path.isabs(arg):
        return False
    first = arg.split("/", 1)[0]
    return first not in ("", ".", "..") and (root / first).is_dir() and not (root / arg).exists()


def _store_checks(ws: Workspace) -> list[Check]:
    """keys, then the store's: chain, checkpoint, replay, counts."""
    if not ws.db_path.exists():
        return [_keys(ws, None), *(Check(n, OK, "nothing ingested yet") for n in _STORE_CHECKS)]
    if not ws.db_path.is_file():
        said = f"{ws.db_path} is not a file: no runner can use it"
        return [
            _keys(ws, None),
            *(Check(n, FAIL, said, f"remove {ws.db_path}") for n in _STORE_CHECKS),
        ]
    try:
        with Store.open_readonly(ws.db_path) as store:
            chain = _guarded(("chain", "checkpoint"), partial(_chain, ws, store))
            if chain[0].status == FAIL:  # a broken record is not replayed
                replay = [Check("replay", FAIL, "not replayed: the chain does not verify")]
            else:
                replay = _guarded(("replay",), partial(_replay, ws, store))
            counts = _guarded(("counts",), partial(_counts, store))
            return [_keys(ws, store), *chain, *replay, *counts]
    except (sqlite3.DatabaseError, OSError) as exc:  # an older schema, a damaged file
        said = f"the store {ws.db_path} cannot be read: {exc}"
        fix = "`cockpit run --once` upgrades an older store; restore a damaged one from a backup"
        return [_keys(ws, None), *(Check(n, FAIL, said, fix) for n in _STORE_CHECKS)]


def _keys(ws: Workspace, store: Store | None) -> Check:
    try:
        held = record.runner_key_usable(ws)
    except (ConfigError, OSError, ValueError) as exc:
        return Check(
            "keys",
            FAIL,
            f"the runner key cannot be used: {exc}",
            "`cockpit keys init` makes one; runner.key names it",
        )
    principals = sum(len(p.keys) for p in ws.config.principals.values())
    if held is None:
        return Check(
            "keys",
            OK,
            f"no runner key (policy.signatures is optional): the "
            f"runner's events are unsigned; {principals} principal key(s) in the config",
        )
    known = trust_entries.runner_keys(store) if store is not None else set()
    if not known:
        return Check(
            "keys",
            OK,
            f"the runner key {held.path} is readable (the record names no runner key yet); "
            f"{principals} principal key(s) in the config",
        )
    if held.public.blob not in known:
        return Check(
            "keys",
            WARN,
            f"the runner key {held.path} is not the one the record "
            "names: the next runner start records it (config_applied)",
            "if the key was not replaced on purpose, find out who replaced it",
        )
    return Check(
        "keys",
        OK,
        f"the runner key {held.path} is readable and is the one the "
        f"record names; {principals} principal key(s) in the config",
    )


def _chain(ws: Workspace, store: Store) -> list[Check]:
    report = audit_ops.verify(ws, store, None)
    if not report.ok:
        said = (
            f"the chain is broken at seq {report.first_bad_seq}: {report.reason}"
            if report.first_bad_seq is not None
            else f"the chain does not verify: {report.reason}"
        )
        fix = "`cockpit audit verify` says the same; restore the store from a backup"
        return [
            Check("chain", FAIL, said, fix),
            Check("checkpoint", FAIL, "not checked: the chain does not verify", fix),
        ]
    sigs = report.signatures
    chain = Check(
        "chain",
        OK,
        f"intact through seq {report.events}; signatures: "
        f"{sigs.checked} checked, {sigs.unsigned} unsigned, {sigs.bad} bad",
    )
    if report.signed_through is None:
        return [
            chain,
            Check(
                "checkpoint",
                OK,
                "no signed checkpoint yet: a cut tail is caught only against one "
                "(`cockpit audit checkpoint` writes one, the runner key signs it)",
            ),
        ]
    return [
        chain,
        Check("checkpoint", OK, f"a signed checkpoint through seq {report.signed_through} holds"),
    ]


def _replay(ws: Workspace, store: Store) -> Check:
    document = audit_ops.replay(ws, store)
    if document["first_bad_seq"] is not None:
        return Check(
            "replay",
            FAIL,
            f"replay refuses seq {document['first_bad_seq']}: {document['reason']}",
            "`cockpit replay` says the same",
        )
    if not document["match"]:
        return Check(
            "replay",
            FAIL,
            f"the projections differ from what the {document['events']} events derive",
            "`cockpit replay` says the same; report it",
        )
    return Check(
        "replay",
        OK,
        f"{document['events']} events derive the live projections "
        f"(digest {document['live_digest'][:16]})",
    )


def _counts(store: Store) -> Check:
    kept, counted = boards.state_counts_as_kept_and_counted(store)
    if kept != counted:
        return Check(
            "counts",
            FAIL,
            f"the board's counts by state {kept} are not the rows' {counted}",
            "the next sweep of this Cockpit's runner counts afresh "
            "if an earlier Cockpit's trigger is the cause; else report it",
        )
    return Check(
        "counts", OK, f"the board's counts by state are the rows' ({sum(kept.values())} WPs)"
    )


def _queue(ws: Workspace) -> Check:
    waiting = [*maildir.pending(ws.queue_dir("new")), *maildir.pending(ws.queue_dir("cur"))]
    if not waiting:
        return Check("queue", OK, "nothing waits")
    ages = [time.time() - _mtime(path) for path in waiting]
    oldest = max(ages)
    detail = f"{len(waiting)} waiting, the oldest for {_duration(oldest)}"
    if oldest > _STALE_QUEUE_S and lock_holder(ws) is None:
        return Check(
            "queue",
            WARN,
            f"{detail}, and no runner is running",
            "start `cockpit run` (or open `cockpit`, which ingests)",
        )
    return Check("queue", OK, detail)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return time.time()


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _disk(root: Path) -> Check:
    try:
        usage = shutil.disk_usage(root if root.exists() else root.parent)
    except OSError as exc:
        return Check("disk", WARN, f"the free space of {root} cannot be read: {exc}")
    free = f"{usage.free / 1024**3:.1f} GB free of {usage.total / 1024**3:.1f} GB"
    if usage.free < _NO_DISK:
        return Check(
            "disk", FAIL, f"{free}: the store and the queue cannot grow", "free space on that disk"
        )
    if usage.free < _LOW_DISK:
        return Check("disk", WARN, free, "free space on that disk")
    return Check("disk", OK, f"{free} on {socket.gethostname()}")
