"""Whole processes, measured from outside: a command's wall time and peak RSS, and a TUI's
first paint under a pseudo-terminal (from spawning it to its output holding a marker text,
such as the first row's id).

The peak RSS is what `/usr/bin/time` reports for the command it starts: a child forked
straight from this (large) harness would report the harness's own peak as its floor
(Linux carries a process's RSS high-water mark over fork and exec)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SIZE = (40, 120)  # rows, columns of the pseudo-terminal
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Run:
    """One child process: seconds from spawn to exit, its peak RSS in MB, its exit code."""

    seconds: float
    rss_mb: float
    code: int
    stderr: str = ""
    stdout: str = ""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "COCKPIT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def command(argv: Sequence[str], *, capture: bool = False) -> Run:
    """Run `argv` to its end, timed from spawn to exit (its output discarded, or kept in
    `stdout` with `capture`); raises RuntimeError if it fails."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile() as peak,
    ):
        started = time.perf_counter()
        child = subprocess.Popen(
            _timed(argv, peak.name),
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            env=_env(),
            cwd=ROOT,
        )
        code = child.wait()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        rss = _peak(Path(peak.name))
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}: {stderr[-800:]}")
    return Run(seconds, rss, code, stderr, stdout)


def _timed(argv: Sequence[str], peak: str) -> list[str]:
    return [TIME, "-f", "%M", "-o", peak, *argv] if Path(TIME).exists() else list(argv)


def _peak(path: Path) -> float:
    """The peak RSS in MB that /usr/bin/time wrote (its last line, in KB); 0 if none."""
    lines = path.read_text().split() if path.exists() else []
    return _mb(int(lines[-1])) if lines and lines[-1].isdigit() else 0.0


def cockpit(*args: str) -> list[str]:
    """The `cockpit` command as users run it (`[project.scripts] cockpit = cockpit.cli:main`,
    here as `python -m cockpit`)."""
    return [PYTHON, "-m", "cockpit", *args]


def _mb(maxrss_kb: int) -> float:
    return round(maxrss_kb / 1024, 1)


def first_paint(
    argv: Sequence[str], marker: bytes, *, quit_keys: bytes = b"q", timeout: float = 120
) -> Run:
    """Spawn `argv` on a pseudo-terminal of SIZE and time until its output holds `marker`
    (a text only its first rows show); then send `quit_keys` and wait for it to end (killed
    after 10 s). `rss_mb` is its peak RSS over the whole run."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[0], SIZE[1], 0, 0))
    env = {**_env(), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    with tempfile.NamedTemporaryFile() as peak:
        started = time.perf_counter()
        child = subprocess.Popen(
            _timed(argv, peak.name),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        try:
            painted = _watch(child, master, marker, started, timeout)
            os.write(master, quit_keys)
            _reap(child, master)
        finally:
            if child.returncode is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            os.close(master)
        return Run(painted, _peak(Path(peak.name)), child.returncode or 0)


def _watch(
    child: subprocess.Popen[bytes], master: int, marker: bytes, started: float, timeout: float
) -> float:
    """Seconds from `started` until the child's terminal output holds `marker`."""
    seen = b""
    while True:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{child.args!r} showed no {marker!r} in {timeout:g} s")
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            if child.poll() is not None:
                raise RuntimeError(f"{child.args!r} exited: {seen[-800:]!r}")
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            raise RuntimeError(f"{child.args!r} ended: {seen[-800:]!r}") from None
        seen = seen[-len(marker) :] + chunk
        if marker in seen:
            return time.perf_counter() - started


def _reap(child: subprocess.Popen[bytes], master: int) -> None:
    """Wait for the child to end, draining its terminal so it never blocks writing; kill
    its session after 10 s."""
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        if child.poll() is not None:
            return
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            with contextlib.suppress(OSError):
                os.read(master, 65536)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
