"""The demo copy: the bundled walkthrough copied outside the checkout, where `cockpit demo`
works and where every command that resolves to the demo's template goes instead (the
template itself is never written to, so a checkout stays as it was cloned).

This module imports nothing of the command group, so the group's workspace resolution can
use it without a cycle.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cockpit.engine.config.model import CONFIG_FILE
from cockpit.engine.workspace.layout import TEMPLATE_MARKER, Workspace, marked_in_use
from cockpit.errors import InputError

DEMO_MARKER = ".cockpit-demo"


def default_demo_dir() -> Path:
    """Where the demo copy lives: $XDG_STATE_HOME/cockpit/demo (default
    ~/.local/state/cockpit/demo)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "cockpit" / "demo"


def demo_copy(directory: Path | None = None, *, fresh: bool = False) -> tuple[Workspace, bool]:
    """The demo copy in `directory` (default: `default_demo_dir()`), made from the bundled
    walkthrough if it is not there yet (signed, as `cockpit init --demo` makes it), or made
    again with `fresh`; returns it and whether it was made now. Raises InputError if the
    directory holds a workspace that was not made as the demo copy."""
    from cockpit.engine.trust.demo import keys_dir, sign_demo
    from cockpit.engine.workspace.scaffold import init_workspace

    target = (directory or default_demo_dir()).expanduser().resolve()
    marker = target / DEMO_MARKER
    if (target / CONFIG_FILE).exists() and not marker.exists():
        raise InputError(
            f"{target} holds a workspace that `cockpit demo` did not create; open it with "
            f"`cockpit --workspace {target}`"
        )
    if not marker.exists() and target.is_dir() and any(target.iterdir()):
        # --fresh deletes the whole copy: it is made only where nothing else would go with it.
        raise InputError(
            f"{target} is not empty and not a demo copy; give `cockpit demo` a new or empty "
            "directory (--fresh would delete everything in it)"
        )
    if fresh and marker.exists():
        shutil.rmtree(target)
        shutil.rmtree(keys_dir(target), ignore_errors=True)
    if (target / CONFIG_FILE).exists():
        return Workspace.load(target), False
    init_workspace(target, demo=True)
    # Marked before it is signed: a copy left half made can still be made again (--fresh).
    marker.write_text("created by `cockpit demo`; `cockpit demo --fresh` may delete this\n")
    sign_demo(target)
    return Workspace.load(target), True


def workspace_at(root: Path) -> tuple[Workspace, str]:
    """The workspace a command works on for the template at `root` (the bundled demo in a
    checkout), and the line to say so on stderr: the demo copy, made on first use. A
    workspace in use that holds the template's marker is refused (InputError): it is never
    quietly swapped for the demo copy."""
    if marked_in_use(root):
        raise InputError(
            f"{root} holds {TEMPLATE_MARKER} but also a store (.cockpit/): a workspace in "
            f"use, not the demo's template; remove {root / TEMPLATE_MARKER} to work on it"
        )
    ws, made = demo_copy()
    return ws, (
        f"{root} is the demo's template and stays as it is: working on the demo copy "
        f"{ws.root}{' (made now)' if made else ''} instead"
    )
