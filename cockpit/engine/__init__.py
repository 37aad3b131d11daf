"""The one engine behind the TUI, the headless runner and the CLI. It never imports Textual."""

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
