"""The one error tree: every error Cockpit reports to a person is a `CockpitError` and
carries the CLI exit code it maps to (SPEC 8: 1 for a refused check or action, 2 for usage
or input errors), so the CLI and the TUI catch one type.

Planes add their own subclasses where they need a name: `EntryRejected` (an InputError
with a rejection code, cockpit.engine.entries), `UnsafeYaml`/`YamlSyntaxError` (InputError),
`IllegalTransition` (Refused, cockpit.engine.lifecycle), `GitError`/`WorktreeError`
(Refused, cockpit.engine.repo), `Interrupted` (Refused, the gate stopped by shutdown).
"""

from __future__ import annotations


class CockpitError(Exception):
    """Base of every error the engine reports to a person; the message is one sentence."""

    exit_code = 2


class ConfigError(CockpitError):
    """cockpit.yaml is missing or invalid; the message names the key."""


class WorkspaceNotFound(CockpitError):
    """No workspace could be resolved (no cockpit.yaml in the chosen directory)."""


class InputError(CockpitError):
    """A bad argument or input file (exit 2)."""


class NotFound(CockpitError):
    """A named work package, entry or event does not exist (exit 2: an input error)."""


class Refused(CockpitError):
    """An action or check was refused: capability, state, broken chain (exit 1)."""

    exit_code = 1


class RunnerLocked(Refused):
    """Another runner holds the workspace lock."""
