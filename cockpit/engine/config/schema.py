"""The JSON Schema (draft 2020-12) of cockpit.yaml (`cockpit schema config`), built from the
config model, with the two places where the loader is kinder than the model's types said
out loud: a tier inherits its defaults (so no key of a tier is required), and `runner.sandbox`
takes YAML's unquoted `off` (read as false)."""

from __future__ import annotations

from typing import Any

from cockpit.engine.config.model import CONFIG_FILE, CONFIG_SCHEMA, Config
from cockpit.engine.entries.schema import finish, schema_id


def config_schema() -> dict[str, Any]:
    """The JSON Schema of cockpit.yaml, finished with `$schema`, `$id`, `title` and
    `description`."""
    schema = Config.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})
    definitions.get("TierConfig", {}).pop("required", None)
    sandbox = definitions.get("RunnerConfig", {}).get("properties", {}).get("sandbox")
    if sandbox is not None:
        allowed = {k: sandbox.pop(k) for k in ("enum", "type", "const") if k in sandbox}
        sandbox["anyOf"] = [allowed, {"const": False}]
    return finish(
        schema,
        schema_id=schema_id(CONFIG_SCHEMA),
        title=f"Cockpit workspace config ({CONFIG_FILE})",
        description=f"A workspace's {CONFIG_FILE} (`schema: {CONFIG_SCHEMA}`): its tenant, the "
        "principals and the roles that give them capabilities, the agent lanes, the tiers' "
        "evidence floors, the gate's policy and the runner's settings. Unknown keys are "
        "errors: a typo must never silently weaken policy.",
    )
