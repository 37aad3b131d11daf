"""The one engine behind the TUI, the headless runner and the CLI. It never imports Textual.

One subpackage per plane, each saying in its `__init__` what it owns and what it may
import. From the bottom up (a plane imports only planes below it; the contracts in
pyproject.toml are checked by import-linter in CI):

    entries → config → workspace → lifecycle → canon | repo → gate → ingest → queue
            → drivers → runner | actions | reports | procedures

The shared vocabulary (`cockpit.domain`, `cockpit.errors`) and the store sit below them all.
"""

from cockpit.domain import Capability, Kind, Mode, RejectionCode, State
from cockpit.engine.config.model import Config, load_config
from cockpit.engine.workspace.layout import Workspace, resolve_workspace
from cockpit.errors import CockpitError, ConfigError, InputError, NotFound, Refused

__all__ = [
    "Capability",
    "CockpitError",
    "Config",
    "ConfigError",
    "InputError",
    "Kind",
    "Mode",
    "NotFound",
    "Refused",
    "RejectionCode",
    "State",
    "Workspace",
    "load_config",
    "resolve_workspace",
]
