"""Config plane: `cockpit.yaml` as a validated model (principals, capabilities, lanes,
tiers, policy, runner settings), its loader and its JSON Schema (`schema`).

It imports only the vocabulary and the entries plane (the safe YAML loader, the wording of
errors, the finishing of schemas).
"""

from cockpit.engine.config.model import CONFIG_FILE, Config, load_config

__all__ = ["CONFIG_FILE", "Config", "load_config"]
