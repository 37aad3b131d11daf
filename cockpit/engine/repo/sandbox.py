"""The sandbox every command on a worktree runs in (SPEC 10.3): bubblewrap, built here so
the gate (validation), actions (rollback's re-run) and the runner (agents) share it.

A sandbox shows only what it is given (explicit binds, nothing of the host by default):
the system directories read-only (`/usr`, `/bin`, `/sbin`, `/lib*`, `/etc`, `/opt`) with
the host's secrets in `/etc` masked, Cockpit's own Python installation read-only, its own
`/proc`, `/dev`, a tmpfs `/tmp`, and then whatever the caller adds (`Box`). Every
namespace is new (`--unshare-all`: user, PID, mount, IPC, UTS, cgroup and network), the
command runs in a new session, dies with its parent, and holds no capability
(`--cap-drop ALL`: without it a root runner's agent could remount its binds or open any
file by handle). Paths are bound at the same place they have on the host, so what the
runner records stays true inside.

`probe` runs bubblewrap once per process and executable and remembers whether it works;
`availability` says what confines a command under `runner.sandbox` (`required` / `auto`
/ `off`). `start` launches a command in a `Box` (with a user-mode network through
`slirp4netns` when asked) and returns a `Confined` whose `stop` leaves no process of the
sandbox alive: the kernel kills a PID namespace whole when its first process dies, and
bubblewrap's outer process exits only after that.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cockpit.engine.workspace.layout import Workspace

BWRAP = "bwrap"
SLIRP = "slirp4netns"
BASE_FLAGS = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
# What the host keeps secret in the system directories the sandbox shows (the runner may
# be root, and root reads them): masked with an empty file or directory.
SECRET_FILES = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh/ssh_host_*key",
    "/etc/ssl/private",
    "/etc/sudoers",
    "/etc/sudoers.d",
)
NETWORK_WAIT_S = 10.0
STATE_NAMES = (".cockpit", "queue", "handoffs", "worktrees")
SCRATCH = (Path("/tmp"), Path("/var/tmp"))  # writable in every sandbox


class SandboxError(RuntimeError):
    """The sandbox could not be made; the message says why in one sentence."""


@dataclass(frozen=True)
class Availability:
    """What confines commands: `bubblewrap` (at `bwrap`) or `none` (with the reason)."""

    confined_by: str
    bwrap: str | None
    problem: str | None

    @property
    def confined(self) -> bool:
        return self.confined_by == "bubblewrap"


_PROBED: dict[str, str | None] = {}


def probe(bwrap: str) -> str | None:
    """None if `bwrap` makes a sandbox here, else why not (one sentence); cached."""
    if bwrap in _PROBED:
        return _PROBED[bwrap]
    command = [bwrap, *BASE_FLAGS, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    try:
        done = subprocess.run(
            [*command, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30
        )
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        problem = (
            None
            if done.returncode == 0
            else f"bubblewrap at {bwrap} cannot make a sandbox here: "
            + (said[-1] if said else f"exit {done.returncode}")
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = f"bubblewrap at {bwrap} could not be run: {exc}"
    _PROBED[bwrap] = problem
    return problem


def availability(mode: str) -> Availability:
    """What confines commands under `runner.sandbox` = `mode` (bwrap is looked up on PATH)."""
    if mode == "off":
        return Availability("none", None, "runner.sandbox is off")
    path = shutil.which(BWRAP)
    problem = "bubblewrap (bwrap) is not installed or not on PATH" if path is None else probe(path)
    if path is not None and problem is None:
        return Availability("bubblewrap", path, None)
    return Availability("none", None, problem)


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def install_dirs() -> list[Path]:
    """The directories of the Python installation running Cockpit and of Cockpit itself,
    so `python3` and `cockpit submit` work inside."""
    import cockpit

    dirs = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    dirs += [Path(p) for p in sys.path if p and "site-packages" in p]
    dirs.append(Path(cockpit.__file__).resolve().parent)
    found: list[Path] = []
    for d in dirs:
        for candidate in (d, d.resolve()):
            if candidate.is_dir() and candidate != Path("/") and candidate not in found:
                found.append(candidate)
    return found


@dataclass
class Box:
    """What one sandbox shows, in order (a later bind covers an earlier one)."""

    args: list[str] = field(default_factory=list)
    bound: list[Path] = field(default_factory=list)  # sources shown (for masking)
    hidden: list[Path] = field(default_factory=list)  # never shown, even under a bind
    covered: list[Path] = field(default_factory=list)  # shown empty (see `empty`)
    sealed: list[Path] = field(default_factory=list)  # read-only tmpfs holding binds

    def _seal(self, dest: Path) -> None:
        """A bind below the writable /tmp would leave its parent directories writable
        there (a write beside the bind would land in a scratch file nobody reads): the
        first directory below /tmp becomes a tmpfs of its own, made read-only last."""
        for scratch in SCRATCH:
            if dest.is_relative_to(scratch) and dest != scratch:
                top = scratch / dest.relative_to(scratch).parts[0]
                if top not in self.sealed and top != dest:
                    self.args += ["--tmpfs", str(top)]
                    self.sealed.append(top)

    def ro(self, path: Path) -> Box:
        if path.exists():
            self._seal(path)
            self.args += ["--ro-bind", str(path), str(path)]
            self.bound.append(path)
        return self

    def rw(self, path: Path) -> Box:
        if path.exists():
            self._seal(path)
            self.args += ["--bind", str(path), str(path)]
            self.bound.append(path)
        return self

    def file_over(self, source: Path, dest: Path) -> Box:
        """`source` shown read-only at `dest` (over whatever is there)."""
        self.args += ["--ro-bind", str(source), str(dest)]
        return self

    def empty(self, path: Path) -> Box:
        """An empty, read-only directory (or file) where `path` is."""
        if path.is_symlink() or not path.exists():
            return self
        self.covered.append(path)
        if path.is_dir():
            self.args += ["--tmpfs", str(path)]  # made read-only last (binds go inside)
        else:
            self.args += ["--ro-bind", os.devnull, str(path)]
        return self

    def hide(self, paths: Iterable[Path]) -> Box:
        """Keep `paths` unreadable even if a bind shows a directory holding them."""
        self.hidden += [Path(p) for p in paths]
        return self

    def command(self, bwrap: str, argv: list[str], cwd: Path) -> list[str]:
        masks: list[str] = []
        for secret in self.hidden:
            for form in dict.fromkeys((secret, _resolved(secret))):
                shown = any(_within(form, b) for b in self.bound)
                if shown and form.exists() and not any(_within(form, c) for c in self.covered):
                    masks += ["--ro-bind", os.devnull, str(form)]
        emptied = [c for c in self.covered if c.is_dir()] + self.sealed
        last = [a for c in emptied for a in ("--remount-ro", str(c))]
        # The sandbox's own root (where bwrap made the mount points) is read-only too: a
        # write beside a bind fails rather than landing in a scratch file nobody reads.
        last += ["--remount-ro", "/"]
        tail = [*masks, *last, "--chdir", str(cwd), "--", *argv]
        return [bwrap, *BASE_FLAGS, *self.args, *tail]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def base_box() -> Box:
    """The system read-only, secrets masked, Cockpit's Python, /proc, /dev, a tmpfs /tmp."""
    box = Box()
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            box.args += ["--symlink", os.readlink(path), name]
        else:
            box.ro(path)
    for pattern in SECRET_FILES:
        for found in sorted(glob.glob(pattern)):
            box.empty(Path(found))
    box.args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/var/tmp"]
    for path in install_dirs():
        box.ro(path)
    return box


def secrets(ws: Workspace) -> list[Path]:
    """Files no sandbox may read, even under a bind that would show them."""
    found = [ws.root / "cockpit.yaml", ws.db_path]
    found += [ws.db_path.with_name(ws.db_path.name + s) for s in ("-wal", "-shm", "-journal")]
    if ws.config.runner.key:
        found.append(Path(os.path.expanduser(ws.config.runner.key)))
    signing = os.environ.get("COCKPIT_SIGNING_KEY")
    if signing:
        found.append(Path(os.path.expanduser(signing)))
    return found


def workspace_files(box: Box, ws: Workspace, *, writable: bool) -> Box:
    """The workspace root (the work product of a WP without a target repo), its
    Cockpit state covered by empty read-only directories and files."""
    (box.rw if writable else box.ro)(ws.root)
    for name in STATE_NAMES:
        box.empty(ws.root / name)
    box.empty(ws.root / "cockpit.yaml")
    if writable:
        box.ro(ws.root / ".git")
    return box


@dataclass
class Confined:
    """A command started in a sandbox (or not: `box` None), with its helpers."""

    proc: subprocess.Popen[bytes]
    inner_pid: int | None = None
    network: str = "none"
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    exit_fds: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """Kill every process of the sandbox and wait until they are gone."""
        if self.proc.poll() is None and self.inner_pid is not None:
            # The outer bwrap has not reaped its child, so the pid is still that child's:
            # killing the PID namespace's first process kills the namespace whole, and
            # the outer bwrap exits once the kernel has done so.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.inner_pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.release()

    def release(self) -> None:
        """End the helpers (the network stack) of a sandbox whose command ended."""
        for fd in self.exit_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.exit_fds.clear()
        for helper in self.helpers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                helper.wait(timeout=5)
            if helper.poll() is None:
                helper.kill()
                helper.wait()
        self.helpers.clear()


def start(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout: IO[bytes] | int,
    box: Box | None,
    bwrap: str | None,
    network: bool = False,
) -> Confined:
    """Start `argv` in `box` (unconfined when `box` is None) in its own process group.
    With `network`, the sandbox gets outbound access through slirp4netns that cannot
    reach the host's loopback (`--disable-host-loopback`) nor link-local addresses.
    Raises OSError (the command cannot be started) or SandboxError."""
    if box is None or bwrap is None:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Confined(proc, network="host")
    program = shutil.which(argv[0], path=env.get("PATH")) if argv else None
    if program is None:  # as Popen would say it, rather than bwrap's exit 1
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0] if argv else "")
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    command = box.command(bwrap, argv, cwd)
    extra = ["--info-fd", str(info_w), "--block-fd", str(block_r)]
    command = [command[0], *extra, *command[1:]]
    try:
        proc = subprocess.Popen(
            command,
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(info_w, block_r),
        )
    except OSError:
        for fd in (info_r, info_w, block_r, block_w):
            os.close(fd)
        raise
    os.close(info_w)
    os.close(block_r)
    confined = Confined(proc)
    try:
        confined.inner_pid = _read_info(info_r)
        if network and confined.inner_pid is not None:
            _network(confined)
        os.write(block_w, b"1")
    except (SandboxError, OSError) as exc:
        confined.stop()
        raise SandboxError(str(exc)) from None
    finally:
        os.close(info_r)
        with contextlib.suppress(OSError):
            os.close(block_w)
    return confined


def _read_info(fd: int) -> int | None:
    """The host pid of the sandbox's first process, from bwrap's --info-fd (None if bwrap
    failed before it: its message is in the command's output)."""
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def _network(confined: Confined) -> None:
    """slirp4netns on the sandbox's network namespace, once bwrap has set up its
    loopback (else both would configure `lo`), and a route that makes link-local
    addresses unreachable. Raises SandboxError."""
    pid = confined.inner_pid
    slirp = shutil.which(SLIRP)
    if slirp is None:
        raise SandboxError("sandbox_network is on but slirp4netns is not installed")
    try:
        own = os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    except OSError:
        own = False
    if not own:  # never configure the host's network
        raise SandboxError("the sandbox has no network namespace of its own")
    deadline = time.monotonic() + NETWORK_WAIT_S
    trie = Path(f"/proc/{pid}/net/fib_trie")
    while "127.0.0.1" not in _read(trie):
        if time.monotonic() > deadline or confined.proc.poll() is not None:
            raise SandboxError("the sandbox's loopback never came up")
        time.sleep(0.01)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    try:
        helper = subprocess.Popen(
            [
                *(slirp, "--configure", "--mtu=65520", "--disable-host-loopback"),
                *("--ready-fd", str(ready_w), "--exit-fd", str(exit_r), str(pid), "tap0"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(ready_w, exit_r),
        )
    finally:
        os.close(ready_w)
        os.close(exit_r)
    confined.helpers.append(helper)
    confined.exit_fds.append(exit_w)
    try:
        ready = os.read(ready_r, 1)
    finally:
        os.close(ready_r)
    if ready != b"1":
        raise SandboxError("slirp4netns could not give the sandbox a network")
    nsenter, ip = shutil.which("nsenter"), shutil.which("ip")
    if nsenter is None or ip is None:
        raise SandboxError("nsenter and ip are needed to keep link-local addresses out")
    done = subprocess.run(
        [nsenter, "-t", str(pid), "-n", ip, "route", "replace", "unreachable", "169.254.0.0/16"],
        capture_output=True,
        timeout=30,
    )
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SandboxError(
            "the sandbox's route to link-local addresses could not be closed: "
            + (said[-1] if said else f"exit {done.returncode}")
        )
    confined.network = "slirp4netns"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
