"""The validation commands the verify gate runs in a WP's worktree: a process group killed
whole on timeout or shutdown, output redacted before it reaches the audit chain, an
allow-listed environment, and a fingerprint of the tree to prove it was left unchanged.

They run in the WP's sandbox (SPEC 10.3, `validation_sandbox`): the worktree and the
shared git directory read-only (a WP without a target repo: the workspace's files
read-only, its Cockpit state covered), a fresh home and /tmp, no network, no signing key.
Under `runner.sandbox: required` without a working bubblewrap nothing runs and the result
is an error (so `validation_passed` is `error`); under `off` nothing is sandboxed.

Commands come only from the WP as the owner booked it; nothing an agent wrote is run.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.canon import redaction
from cockpit.engine.gate.facts import CommandResult
from cockpit.engine.repo import gitops, sandbox, worktrees
from cockpit.engine.workspace.layout import Workspace
from cockpit.store.rows import WorkPackageRow

# Directories of a workspace root that are Cockpit's own state, not the work product.
_STATE_DIRS = frozenset({".cockpit", "queue", "handoffs", "worktrees", ".git"})
OUTPUT_TAIL = 2000


def file_digest(path: Path) -> str:
    """A file's fingerprint, never blocking on a FIFO nor following a link."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return f"special:{stat.S_IFMT(info.st_mode):o}"
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def snapshot(root: Path, *, workspace_root: bool) -> dict[str, str]:
    """Fingerprint of every file under `root` (Cockpit's own state excluded): before and
    after verification they must be equal."""
    digests: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if workspace_root and rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in _STATE_DIRS]
        else:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            try:
                digests[rel] = file_digest(Path(dirpath) / name)
            except OSError as exc:
                digests[rel] = f"unreadable:{exc.errno}"
    return digests


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


@dataclass(frozen=True)
class Confinement:
    """The sandbox a WP's commands run in (`box` None: unconfined)."""

    available: sandbox.Availability
    box: sandbox.Box | None
    required: bool


SANDBOX_HOME = "/tmp/home"


def validation_sandbox(
    ws: Workspace, wp: WorkPackageRow, worktree: Path | None = None
) -> Confinement:
    """The WP's sandbox for commands run on its worktree (see the module text), or on
    `worktree` instead (the merge queue's scratch worktree, SPEC 11.3)."""
    mode = ws.config.runner.sandbox
    available = sandbox.availability(mode)
    if not available.confined:
        return Confinement(available, None, mode == "required")
    box = sandbox.base_box()
    box.args += ["--dir", SANDBOX_HOME]
    if wp.get("target_repo"):
        box.ro(worktree or worktrees.worktree_path(ws, wp["id"]))
        repo = worktrees.target_repo_path(ws, wp)
        try:
            common = gitops.run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
            box.ro(Path(common.strip()))
        except gitops.GitError:
            pass  # git will not work inside; the commands still run read-only
    else:
        sandbox.workspace_files(box, ws, writable=False)
    box.hide(sandbox.secrets(ws))
    return Confinement(available, box, mode == "required")


def run_command(
    command: str,
    cwd: Path,
    timeout_s: int,
    env: dict[str, str],
    stop: threading.Event | None = None,
    confinement: Confinement | None = None,
) -> CommandResult:
    """Run one validation command with `sh -c` in `cwd`, in `confinement` (the WP's
    sandbox; None: unconfined). Its output goes to a temporary file (only the tail is
    kept); everything it started is killed on timeout or when `stop` is set (the runner
    is shutting down)."""
    started = time.monotonic()
    box = confinement.box if confinement is not None else None
    if confinement is not None and box is None and confinement.required:
        problem = confinement.available.problem
        return CommandResult(
            command, None, 0, error=f"runner.sandbox is required and {problem}: not run"
        )
    if box is not None:
        env = {**env, "HOME": SANDBOX_HOME, "TMPDIR": "/tmp"}
    with tempfile.TemporaryFile() as output:
        try:
            confined = sandbox.start(
                ["sh", "-c", command],
                cwd=cwd,
                env=env,
                stdout=output,
                box=box,
                bwrap=confinement.available.bwrap if confinement is not None else None,
            )
        except (OSError, sandbox.SandboxError) as exc:
            return CommandResult(command, None, 0, error=str(exc))
        proc = confined.proc
        deadline = started + timeout_s
        timed_out = interrupted = False
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                interrupted = True
            elif time.monotonic() >= deadline:
                timed_out = True
            else:
                time.sleep(0.05)
                continue
            break
        confined.stop()  # nothing it started outlives it
        duration = int((time.monotonic() - started) * 1000)
        size = output.seek(0, os.SEEK_END)
        output.seek(0)
        whole = hashlib.sha256()
        while chunk := output.read(1 << 20):
            whole.update(chunk)
        output.seek(max(size - OUTPUT_TAIL * 4, 0))
        # What a command printed goes into the audit chain: never a secret it printed.
        tail = redaction.redact(output.read().decode("utf-8", "replace")[-OUTPUT_TAIL:])
    if interrupted:
        return CommandResult(
            command, None, duration, error="interrupted: the runner is stopping", output_tail=tail
        )
    return CommandResult(
        command,
        None if timed_out else proc.returncode,
        duration,
        timed_out,
        None,
        tail,
        whole.hexdigest(),
    )


# What validation commands inherit from the runner: enough to find tools, nothing secret
# (never SSH_AUTH_SOCK, DBUS_*, *_TOKEN, *_KEY).
ENV_ALLOWED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "TZ",
    "TMPDIR",
    "TERM",
    "VIRTUAL_ENV",
)


def validation_env(ws: Workspace, wp_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOWED or k.startswith("LC_")}
    env.update(
        COCKPIT_WORKSPACE=str(ws.root),
        COCKPIT_WORK_PACKAGE=wp_id,
        PYTHONDONTWRITEBYTECODE="1",  # validation must leave the tree byte-identical
    )
    # The runner's interpreter directory first, as for agents: `python3` in a validation
    # command is the same interpreter the agent that wrote the code ran with.
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([bindir, env.get("PATH", os.defpath)])
    return env
