"""cockpit.yaml's errors in Cockpit's words (issue 15, finding 13): `tenat:` is an unknown
key with its nearest valid name (not "tenant is missing"), a bad value names its path, what
was given and what is allowed, and pydantic's wording never shows, through the CLI too."""

from __future__ import annotations

import pytest
from helpers.workspace import Env

from cockpit.engine.config.model import parse_config
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.engine.workspace.scaffold import DEFAULT_CONFIG
from cockpit.errors import ConfigError

pytestmark = pytest.mark.usefixtures("no_ambient_principal")
CONFIG = DEFAULT_CONFIG.format(tenant="demo", workspace_id="ws-1")
PYDANTIC = ("Input should", "Field required", "Extra inputs", "validation error", "[type=")


def error(old: str, new: str) -> str:
    assert CONFIG.count(old) == 1, old
    with pytest.raises(ConfigError) as caught:
        parse_config(load_yaml(CONFIG.replace(old, new)))
    message = str(caught.value)
    assert not any(phrase in message for phrase in PYDANTIC), message
    return message.removeprefix("cockpit.yaml: ")


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("tenant: demo", "tenat: demo", "unknown key `tenat` (did you mean `tenant`?)"),
        ("operator: human", "operatr: human", "unknown key `operatr` (did you mean `operator`?)"),
        (
            "  verifier: agent:verifier",
            "  verfier: agent:verifier",
            "unknown key `verfier` in runner (did you mean `verifier`?)",
        ),
        (
            "  version: 1",
            "  versoin: 1",
            "unknown key `versoin` in policy (did you mean `version`?)",
        ),
        (
            "{roles: [owner]}",
            "{roles: [owner], lanez: []}",
            "unknown key `lanez` in principals.human:owner (did you mean `lanes`?)",
        ),
        (
            "    timeout_s: 600",
            "    timeout: 600",
            "unknown key `timeout` in lanes.implementation (did you mean `timeout_s`?)",
        ),
    ],
)
def test_a_typo_is_an_unknown_key_with_its_nearest_valid_name(
    old: str, new: str, says: str
) -> None:
    assert error(old, new) == says


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("mode: live", "mode: turbo", "runner.mode: 'turbo' is not allowed; use dry-run, shadow"),
        ("    timeout_s: 600", "    timeout_s: 0", "lanes.implementation.timeout_s: must be more"),
        ("  version: 1", "  version: one", "policy.version: expected a whole number, got 'one'"),
        ("tenant: demo", "tenant: ''", "tenant: must not be empty"),
        ("tenant: demo", "tenant: [a]", "tenant: expected text, got a list"),
        ("verifier: [verify]", "verifier: [fly]", "roles.verifier[0]: 'fly' is not allowed; use"),
        ("  version: 1\n", "", "policy.version: required, but missing"),
    ],
)
def test_a_bad_value_names_the_path_the_value_and_what_is_allowed(
    old: str, new: str, says: str
) -> None:
    assert error(old, new).startswith(says)


def test_the_cli_says_it_in_one_line(env: Env) -> None:
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text().replace("tenant: demo", "tenat: demo"))
    result = env.cli("status")
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line == f"cockpit: {path}: unknown key `tenat` (did you mean `tenant`?)."
