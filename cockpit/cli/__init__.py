"""The `cockpit` command: parse, call the engine, print. No rule is decided here.

Read commands never import Textual. Exit codes (SPEC 8): 0 ok, 1 refused, 2 usage or input
error; errors are one sentence on stderr.

`base` holds the group and what the commands share; the commands live beside it, grouped by
what they work on, and importing them registers them on the group.
"""

from cockpit.cli import actions, audit, canon, keys, logs, workspace
from cockpit.cli.base import cli, main

__all__ = ["actions", "audit", "canon", "cli", "keys", "logs", "main", "workspace"]
