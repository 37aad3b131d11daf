"""The workspace on disk (SPEC 2): where it is, its config, its directories and store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.config.model import CONFIG_FILE, Config, load_config
from cockpit.errors import InputError, WorkspaceNotFound
from cockpit.store import Store
from cockpit.store.events import Clock, utc_now

QUEUE_DIRS = ("tmp", "new", "cur", "done", "rejected")
# The workspace's procedure packs, `procedures/<archetype>.yaml` (docs/procedures.md).
PROCEDURES_DIR = "procedures"
# A workspace holding this file is a template (the bundled demo in a checkout or a wheel):
# Cockpit never writes to it; the CLI works on the demo copy instead (docs/decisions.md).
TEMPLATE_MARKER = ".cockpit-template"


def is_template(root: Path) -> bool:
    """True if the workspace at `root` is a template, never written to."""
    return (root / TEMPLATE_MARKER).is_file()


def marked_in_use(root: Path) -> bool:
    """True if `root` holds the template marker and a store too: a template never has one
    (nothing writes to it), so this is a workspace in use that someone marked. Taking it for
    the template would quietly swap it for the demo copy (its own log unread, a truncated
    log verified as the demo's): it is refused instead."""
    return is_template(root) and os.path.lexists(root / ".cockpit")


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: its root directory and validated config."""

    root: Path
    config: Config

    @classmethod
    def load(cls, root: Path) -> Workspace:
        """Load the workspace at `root`; raises WorkspaceNotFound or ConfigError."""
        root = root.resolve()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceNotFound(
                f"{root} has no {CONFIG_FILE}; create a workspace there with `cockpit init {root}`"
            )
        return cls(root=root, config=load_config(root / CONFIG_FILE))

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    def queue_dir(self, name: str) -> Path:
        return self.queue / name

    @property
    def state_dir(self) -> Path:
        return self.root / ".cockpit"

    @property
    def db_path(self) -> Path:
        return self.state_dir / "cockpit.db"

    @property
    def checkpoints_dir(self) -> Path:
        return self.state_dir / "checkpoints"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "runner.lock"

    @property
    def handoffs_dir(self) -> Path:
        return self.root / "handoffs"

    @property
    def worktrees_dir(self) -> Path:
        return self.root / "worktrees"

    @property
    def is_template(self) -> bool:
        return is_template(self.root)

    def ensure_dirs(self) -> None:
        """Make the queue's directories and `.cockpit/`. Raises InputError on a template
        (nothing writes there: a checkout stays as it was cloned)."""
        if self.is_template:
            raise InputError(
                f"{self.root} is a template ({TEMPLATE_MARKER}), which Cockpit never writes "
                "to; work on a copy of it: `cockpit demo`, or `cockpit init --demo DIR`"
            )
        for name in QUEUE_DIRS:
            self.queue_dir(name).mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def open_store(self, clock: Clock = utc_now, *, readonly: bool = False) -> Store:
        """The workspace's store; with `readonly`, an existing one opened for reading only
        (no directory or file is created)."""
        if readonly:
            return Store.open_readonly(self.db_path, clock)
        self.ensure_dirs()
        return Store.open(self.db_path, clock)

    def read_store(self, clock: Clock = utc_now) -> Store:
        """The store for a command that only reads: the workspace's own once it has one
        (opened as `open_store` does, so an older schema is upgraded and a runner's
        write-ahead log is read), else an empty one in memory. Either way nothing is created
        in a workspace that was only read."""
        if self.db_path.is_file():
            return Store.open(self.db_path, clock)
        return Store.open(Path(":memory:"), clock)


def resolve_workspace(
    option: str | None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """The workspace directory per SPEC 2: `--workspace`, else $COCKPIT_WORKSPACE, else
    ./workspace when it holds a cockpit.yaml. Raises WorkspaceNotFound naming the directory."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    chosen = option or env.get("COCKPIT_WORKSPACE") or None
    if chosen:
        path = (cwd / chosen).resolve()
        if path.is_file():
            raise WorkspaceNotFound(
                f"{path} is a file; --workspace takes the directory that holds {CONFIG_FILE}"
            )
        if not (path / CONFIG_FILE).is_file():
            raise WorkspaceNotFound(
                f"{path} has no {CONFIG_FILE}; create a workspace there with `cockpit init {path}`"
            )
        return path
    default = cwd / "workspace"
    if (default / CONFIG_FILE).is_file():
        return default.resolve()
    raise WorkspaceNotFound(
        f"no workspace found: {default} has no {CONFIG_FILE}; pass --workspace DIR, set "
        "COCKPIT_WORKSPACE, or create one with `cockpit init DIR`"
    )
