"""The agent's sandbox (SPEC 10.3): what one run of a lane's command sees, where its
entries leave it, and what the runner takes back after it.

What the agent sees (paths at the same place as on the host), in this order:

- the base of every sandbox (`repo.sandbox.base_box`): system directories and Cockpit's
  Python read-only, host secrets masked, own /proc, /dev, tmpfs /tmp, no network;
- read-only: the lane command's files in the workspace (`agents/x.py`), the directory of
  the command's executable, its handoff `handoffs/<principal>/<WP>.yaml`;
- writable: its worktree (a WP without a target repo: the workspace root, with
  `.cockpit/`, `queue/`, `handoffs/`, `worktrees/` and `cockpit.yaml` covered by empty
  read-only ones), its private home `.cockpit/agent-home/<WP>/` (HOME), its outbox
  `queue/outbox/<WP>/` (COCKPIT_OUTBOX);
- git: the worktree's `.git` is a read-only file naming the run's private repository
  (`repo.private_git`), which is writable; the shared object store is read-only; nothing
  else of the target repo is bound;
- the lane's `sandbox_ro` / `sandbox_rw` paths (each writable one is recorded on
  `agent_started` as a weakening);
- masked even when a bind above would show them: the runner key, `$COCKPIT_SIGNING_KEY`,
  `cockpit.yaml` and the store.

Everything else (the real home, the rest of `.cockpit/`, other worktrees, handoffs and
outboxes, the target repo's git directory and checkout) is not bound at all.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType, State
from cockpit.engine.queue import outbox
from cockpit.engine.queue.outbox import Outbox, open_outbox
from cockpit.engine.repo import private_git, sandbox, worktrees
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.repo.private_git import PrivateGit
from cockpit.engine.repo.sandbox import Availability, Box
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import NewEvent, Store
from cockpit.store.rows import WorkPackageRow

# Never handed to an agent: the host's agents and buses.
_ENV_DROPPED = ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "XDG_RUNTIME_DIR")


def home_dir(ws: Workspace, wp_id: str) -> Path:
    return ws.state_dir / "agent-home" / wp_id


def _extra(ws: Workspace, raw: list[str]) -> list[Path]:
    return [(ws.root / os.path.expanduser(p)).resolve() for p in raw]


@dataclass
class AgentSandbox:
    """What one run was given: how it is confined, its outbox and private git."""

    availability: Availability
    outbox: Outbox
    home: Path
    box: Box | None = None
    private: PrivateGit | None = None
    tree: Any = None  # the gitops.Worktree the private repository is taken back into
    taken: dict[str, Any] | None = None  # what take_back did

    def payload(self, ws: Workspace, lane_rw: list[str]) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "sandbox": self.availability.confined_by,
            "outbox": str(self.outbox.path.relative_to(ws.root)),
            "home": str(self.home.relative_to(ws.root)),
        }
        if not self.availability.confined:
            shown["sandbox_warning"] = (
                f"the agent runs UNSANDBOXED with the runner's rights: {self.availability.problem}"
            )
        if self.box is not None:
            shown["network"] = "slirp4netns" if ws.config.runner.sandbox_network else "none"
            shown["private_git"] = self.private is not None
            if lane_rw:
                shown["sandbox_weakened"] = [str(p) for p in _extra(ws, lane_rw)]
        return shown


def prepare(
    ws: Workspace,
    store: Store,
    wp: WorkPackageRow,
    command: list[str],
    handoff: Path,
    cwd: Path,
    availability: Availability,
    *,
    readonly: list[Path] | None = None,
) -> AgentSandbox:
    """The outbox, home and (confined, with a target repo) private repository of one run,
    and the box it runs in; `readonly`: files of the home shown read-only over it (a
    driver's CLI credentials and settings, SPEC 10.3). Raises OSError, GitError or
    WorktreeError."""
    wp_id, principal = wp["id"], str(wp["assignee"])
    home = home_dir(ws, wp_id)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = AgentSandbox(availability, open_outbox(ws, wp_id, principal), home)
    if not availability.confined:
        return made
    lane = ws.config.lanes[wp["lane"]]
    box = sandbox.base_box()
    for place in program_dirs(command[0] if command else None):
        if not place.is_relative_to(ws.root):
            box.ro(place)
    # Confirming the scope changes nothing (SPEC 9): the work product is read-only then.
    writable = wp["state"] != State.DISPATCHED
    if wp.get("target_repo"):
        (box.rw if writable else box.ro)(cwd)
        made.tree = worktrees.open_worktree(ws, store, wp)
        branch = worktrees.branch_name(wp_id)
        private_git.absorb(ws, made.tree, wp_id, branch)  # a lost run's commits first
        made.private = private_git.make(ws, made.tree, wp_id, branch)
        (box.rw if writable else box.ro)(made.private.git_dir)
        box.file_over(made.private.gitfile, cwd / ".git")
        box.ro(made.private.shared_objects)
    else:
        sandbox.workspace_files(box, ws, writable=writable)
    for arg in command:
        path = Path(arg)
        if path.is_absolute() and path.resolve().is_relative_to(ws.root) and path.is_file():
            box.ro(path)
    box.ro(handoff).rw(made.outbox.path).rw(home)
    for path in readonly or []:
        box.ro(path)
    for path in _extra(ws, lane.sandbox_ro):
        box.ro(path)
    for path in _extra(ws, lane.sandbox_rw):
        box.rw(path)
    box.hide(sandbox.secrets(ws))
    made.box = box
    return made


def _prefix(binary: Path) -> Path:
    """Where a program is installed: the directory above its `bin/` (a Node, pipx or
    virtualenv install keeps its modules beside it), else its own directory."""
    folder = binary.parent
    return folder.parent if folder.name == "bin" and folder.parent != Path("/") else folder


def program_dirs(program: str | None) -> list[Path]:
    """The directories a lane's program needs to run (SPEC 10.3): its own (as found on
    PATH and as its links resolve), and, for a script, its interpreter's (`#!/usr/bin/env
    node`): an agent CLI installed under the home (npm, nvm, pipx) runs as it does there."""
    found = shutil.which(program) if program else None
    if found is None:
        return []
    dirs = [Path(found).parent]
    binaries = [Path(found).resolve()]
    try:
        with open(binaries[0], "rb") as handle:
            first = handle.readline(256)
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        words = first[2:].decode("utf-8", "replace").split()
        name = words[1] if words and words[0].endswith("/env") and len(words) > 1 else None
        interpreter = shutil.which(name) if name else (words[0] if words else None)
        if interpreter:
            dirs.append(Path(interpreter).parent)
            binaries.append(Path(interpreter).resolve())
    dirs += [_prefix(binary) for binary in binaries]
    return [d for d in dict.fromkeys(dirs) if d.is_dir() and _may_bind(d)]


# Directories of a home too broad to show an agent even read-only (they hold keyrings,
# tokens, other programs' state), and those that hold nothing but secrets.
_BROAD = (".local", ".config", ".cache", ".var")
_SECRET = (".ssh", ".gnupg", ".aws", ".kube", ".docker", ".password-store", ".netrc")


def _may_bind(place: Path) -> bool:
    """Whether a program's directory may be shown to its agent: never `/`, never the
    home or a directory holding it, never a home's catch-all or secret directories (an
    install under `~/bin` or `~/.local/bin` shows that directory, not the home)."""
    if place == Path("/"):
        return False
    home = os.environ.get("HOME")
    if not home:
        return True
    mine = Path(home).resolve()
    if mine.is_relative_to(place):
        return False
    if place.is_relative_to(mine):
        parts = place.relative_to(mine).parts
        if parts[0] in _SECRET or (len(parts) == 1 and parts[0] in _BROAD):
            return False
    return True


def environment(env: dict[str, str], made: AgentSandbox) -> dict[str, str]:
    """The agent's environment inside its sandbox: no ssh-agent, no session bus, its
    private home and /tmp, its outbox."""
    env = {k: v for k, v in env.items() if k not in _ENV_DROPPED and not k.startswith("DBUS_")}
    env["COCKPIT_OUTBOX"] = str(made.outbox.path)
    if made.box is not None:
        env.update(HOME=str(made.home), TMPDIR="/tmp")
    return env


def take_back(ws: Workspace, made: AgentSandbox, wp_id: str) -> dict[str, Any]:
    """After the run (its processes gone): the agent's commits into the shared branch.
    Returns what happened (for `agent_exited`)."""
    if made.private is None or made.tree is None:
        return {}
    try:
        return private_git.absorb(ws, made.tree, wp_id, worktrees.branch_name(wp_id))
    except (OSError, GitError) as exc:
        return {"error": f"the agent's commits could not be taken: {exc}"}


def collect(ws: Workspace, run: Any) -> bool:
    """Take what the running agent filed so far; True once it flooded its outbox."""
    made: AgentSandbox | None = run.sandbox
    if made is not None:
        outbox.collect(ws, made.outbox)
        run.flooded = made.outbox.flooded
    return bool(run.flooded)


def finish(ws: Workspace, run: Any) -> None:
    """Once every process of the run is gone: its last entries and its commits."""
    made: AgentSandbox | None = run.sandbox
    if made is None:
        return
    outbox.collect(ws, made.outbox)
    run.flooded = made.outbox.flooded
    made.outbox.close()
    made.taken = take_back(ws, made, run.wp_id)


def exit_payload(run: Any) -> dict[str, Any]:
    made: AgentSandbox | None = run.sandbox
    if made is None:
        return {}
    shown: dict[str, Any] = {"outbox": made.outbox.summary()}
    if made.taken:
        shown["git"] = made.taken
    return shown


def flood_event(ws: Workspace, run: Any, by: str) -> NewEvent:
    limit = ws.config.runner.outbox_max
    return NewEvent(
        EventType.AGENT_FAILED,
        run.wp_id,
        by,
        None,
        {
            "reason": "outbox_flood",
            "launch": run.launch_seq,
            "error": f"the agent of {run.wp_id} filed more than {limit} entries in one run "
            "(runner.outbox_max) and was stopped",
        },
    )


def refused_event(wp_id: str, available: Availability, by: str) -> NewEvent:
    """`runner.sandbox: required` and no working bubblewrap: the agent is not started."""
    error = f"runner.sandbox is required and {available.problem}, so it was not started"
    return NewEvent(
        EventType.AGENT_FAILED,
        wp_id,
        by,
        None,
        {"reason": "sandbox_unavailable", "error": f"the agent of {wp_id}: {error}"},
    )
