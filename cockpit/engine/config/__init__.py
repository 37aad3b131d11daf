"""Config plane: `cockpit.yaml` as a validated model (principals, capabilities, lanes,
tiers, policy, runner settings) and its loader.

It imports only the vocabulary and the entries plane's safe YAML loader.
"""

from cockpit.engine.config.model import CONFIG_FILE, Config, load_config

__all__ = ["CONFIG_FILE", "Config", "load_config"]
