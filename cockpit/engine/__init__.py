"""The one engine behind the TUI, the headless runner and the CLI. It never imports Textual."""

from cockpit.engine.config import Config, load_config
from cockpit.engine.domain import Capability, Kind, Mode, RejectionCode, State
from cockpit.engine.errors import CockpitError, ConfigError, InputError, NotFound, Refused
from cockpit.engine.workspace import Workspace, resolve_workspace

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
