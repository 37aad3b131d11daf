"""The `cockpit` command: parse, call the engine, print. No rule is decided here.

Read commands never import Textual. Exit codes (SPEC 8): 0 ok, 1 refused, 2 usage or input
error; errors are one sentence on stderr.

`base` holds the group and what the commands share; the commands live beside it, grouped by
what they work on, and importing them registers them on the group: the group imports a
command's module only when that command runs (or `--help` lists them all).
"""

import importlib
from typing import Any

from cockpit.cli.base import COMMANDS_BY_MODULE, cli, main

__all__ = [
    "actions",
    "audit",
    "book",
    "canon",
    "cli",
    "doctor",
    "entries",
    "keys",
    "logs",
    "main",
    "report",
    "simulate",
    "start",
    "workspace",
    "worktrees",
]


def __getattr__(name: str) -> Any:
    # The command modules load when a command needs them (base.COMMANDS_BY_MODULE), so
    # that a read command's process starts lean; `cockpit.cli.<module>` still finds them.
    if name in COMMANDS_BY_MODULE:
        return importlib.import_module(f"cockpit.cli.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
