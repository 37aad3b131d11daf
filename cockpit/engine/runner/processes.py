"""Agent processes: the command line and environment a lane's agent is started with, its
own process group (killed whole on timeout, on shutdown, or after a runner crash), and the
tail of its output log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.engine.repo.sandbox import Confined
from cockpit.engine.workspace.layout import Workspace

OUTPUT_TAIL = 2000


def resolve_command(command: list[str], root: Path) -> list[str]:
    """The lane's command with arguments that name files of the workspace made absolute
    (the command runs in the worktree, but `agents/x.py` means the workspace's). The
    program itself (argv[0]) is never rewritten, and only arguments with a `/` are: a
    file an agent drops at the workspace root must not become the command."""
    resolved = command[:1]
    for arg in command[1:]:
        candidate = root / arg
        try:
            is_file = (
                "/" in arg
                and not arg.startswith("-")
                and not os.path.isabs(arg)
                and candidate.is_file()
                and candidate.resolve().is_relative_to(root.resolve())
            )
        except (OSError, ValueError):
            is_file = False
        resolved.append(str(candidate.resolve()) if is_file else arg)
    return resolved


def agent_env(
    ws: Workspace,
    principal: str,
    wp_id: str,
    handoff: Path,
    cwd: Path,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """An agent's environment: `base` (the runner's own, by default) with Cockpit's
    variables and the runner's interpreter directory first on PATH."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith("COCKPIT_")}
    env.update(
        COCKPIT_WORKSPACE=str(ws.root),
        COCKPIT_PRINCIPAL=principal,
        COCKPIT_WORK_PACKAGE=wp_id,
        COCKPIT_HANDOFF=str(handoff),
        COCKPIT_WORKTREE=str(cwd),
    )
    env["PATH"] = agent_path(env.get("PATH", os.defpath))
    return env


def agent_path(path: str) -> str:
    """PATH `path` as an agent gets it: the directory of the interpreter running Cockpit
    first, so `python3` and `cockpit submit` are Cockpit's."""
    return os.pathsep.join([str(Path(sys.executable).parent), path])


@dataclass
class Running:
    """An agent process the runner started."""

    wp_id: str
    principal: str
    launch_seq: int
    proc: subprocess.Popen[bytes]
    started: float
    timeout_s: int
    log: Path
    timed_out: bool = False
    confined: Confined | None = None
    sandbox: Any = None  # runner.sandbox.AgentSandbox: its outbox and private git
    flooded: bool = False
    agent_key: Any = None  # trust.agent_keys.IssuedKey: revoked when the run is recorded
    attempt: int = 0  # the WP's run number (its transcript's name)
    transcript: Any = None  # drivers.transcript.TranscriptWriter: the run's output, redacted
    driven: Any = None  # runner.driven.DrivenRun: a driver's run (None: a lane command)
    output_flooded: bool = False  # printed more than driven.OUTPUT_MAX: stopped
    stopped_by_runner: bool = False  # the runner stopped it (shutdown): nothing is filed

    def stop(self) -> None:
        """Kill every process of the run (its sandbox, or its process group)."""
        if self.confined is not None:
            self.confined.stop()
        else:
            kill_group(self.proc)


def output_tail(log: Path) -> str:
    try:
        with open(log, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - OUTPUT_TAIL * 4, 0))
            return handle.read().decode("utf-8", "replace")[-OUTPUT_TAIL:]
    except OSError:
        return ""


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def kill_stale(pid_file: Path, wp_id: str, root: Path) -> bool:
    """Kill the process group a dead runner left running, if the pid file names a live
    group leader that is still this WP's agent (its environment says so)."""
    try:
        pid = int(pid_file.read_text().strip())
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        if os.getpgid(pid) != pid:
            return False
    except (OSError, ValueError):
        return False
    marks = (f"COCKPIT_WORK_PACKAGE={wp_id}\0".encode(), f"COCKPIT_WORKSPACE={root}\0".encode())
    if not all(mark in environ + b"\0" for mark in marks):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return True


@dataclass
class AgentCounts:
    started: int = 0
    exited: int = 0
    timed_out: int = 0
    failed: int = 0
    worktrees: int = 0
    plan: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "exited": self.exited,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "worktrees": self.worktrees,
        }


def wait_for_exit(agents: Any, stop: threading.Event | None, seconds: float) -> None:
    """Sleep up to `seconds`, waking early when an agent ends or `stop` is set."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            return
        if any(run.proc.poll() is not None for run in agents.running.values()):
            return
        time.sleep(0.05)
