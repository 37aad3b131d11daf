"""`cockpit schema [KIND|config]`: the JSON Schema of an entry kind, of any entry, of
cockpit.yaml. Each printed schema is checked against the draft 2020-12 meta-schema, accepts
the real files (the bundled walkthrough's entries of every kind, the configs Cockpit writes)
and refuses a typo'd key, as the queue and the config loader do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.workspace import CliResult, Env, entry, t, work_package
from jsonschema import Draft202012Validator

from cockpit.domain import Kind
from cockpit.engine.entries.parse import _FRONT_MATTER
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.engine.workspace.scaffold import init_workspace

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "workspace"
Cli = Callable[..., CliResult]


def document(path: Path) -> dict[str, Any]:
    """An entry file as the schema sees it: the YAML document, or a Markdown entry's front
    matter (its Markdown becomes body.description)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        match = _FRONT_MATTER.match(text)
        assert match is not None
        data = load_yaml(match.group("yaml"))
        data["body"]["description"] = text[match.end() :].strip()
        return data
    data = load_yaml(text)
    assert isinstance(data, dict)
    return data


def bundled_entries() -> dict[Kind, list[Path]]:
    found: dict[Kind, list[Path]] = {}
    for path in sorted((BUNDLED / "queue" / "new").iterdir()):
        found.setdefault(Kind(document(path)["kind"]), []).append(path)
    return found


def printed(cli: Cli, *args: str) -> Draft202012Validator:
    result = cli("schema", *args)
    assert result.code == 0, result.err
    assert result.err == ""
    schema = json.loads(result.out)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:cockpit:") and schema["title"] and schema["description"]
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, data: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(data)]


# Entries of the kinds the walkthrough does not hold, written as the tests' helpers write
# them (and as the queue takes them).
MORE = [
    entry("recovery", "RCV-1", "WP-1", "human:owner", "next_action: retry\nrecovery_owner: a"),
    entry("veto", "VETO-1", "WP-1", "human:owner", "reason: hold\nlift: false", created=t(5)),
    entry(
        "evidence",
        "EVD-9",
        "WP-1",
        "agent:implementer-1",
        "items:\n  - {class: runtime_proof, ref: a.py, command: x, exit_code: 0, log: ok}",
        refs="[CG-1]",
    ),
]


def test_every_kind_has_its_own_schema_that_takes_the_walkthroughs_entries(cli: Cli) -> None:
    found = bundled_entries()
    assert {k for k in found} >= set(Kind) - {Kind.RECOVERY, Kind.VETO}
    for kind in Kind:
        validator = printed(cli, kind.value)
        for path in found.get(kind, []):
            assert errors(validator, document(path)) == [], path.name
        for other, paths in found.items():
            if other is not kind:  # the kind is fixed: another kind's entry is refused
                assert errors(validator, document(paths[0])), (kind, other)
    for text in MORE:
        data = load_yaml(text)
        assert errors(printed(cli, data["kind"]), data) == []


def test_the_schema_of_any_entry_takes_every_entry_and_refuses_an_unknown_kind(cli: Cli) -> None:
    validator = printed(cli)
    for paths in bundled_entries().values():
        for path in paths:
            assert errors(validator, document(path)) == [], path.name
    for text in [*MORE, work_package("WP-7")]:
        assert errors(validator, load_yaml(text)) == []
    data = document(BUNDLED / "queue" / "new" / "07-CLM-0001.yaml")
    assert errors(validator, {**data, "kind": "claimz"})


@pytest.mark.parametrize("where", ["top", "body", "nested"])
def test_a_typod_key_is_refused(cli: Cli, where: str) -> None:
    if where == "nested":
        data = document(BUNDLED / "queue" / "new" / "06-EVD-0001.yaml")
        data["body"]["items"][0]["clas"] = data["body"]["items"][0].pop("class")
        kind = "evidence"
    else:
        data = document(BUNDLED / "queue" / "new" / "01-WP-0001.md")
        kind = "work_package"
        if where == "top":
            data["tenat"] = data.pop("tenant")
        else:
            data["body"]["titel"] = data["body"].pop("title")
    for validator in (printed(cli, kind), printed(cli)):
        assert errors(validator, data), where


def test_the_config_schema_takes_the_configs_cockpit_writes_and_refuses_a_typo(
    cli: Cli, tmp_path: Path
) -> None:
    validator = printed(cli, "config")
    empty = init_workspace(tmp_path / "empty").root / "cockpit.yaml"
    demo = init_workspace(tmp_path / "demo", demo=True).root / "cockpit.yaml"  # signed
    for path in (BUNDLED / "cockpit.yaml", empty, demo):
        config = load_yaml(path.read_text(encoding="utf-8"))
        assert errors(validator, config) == [], path
    config = load_yaml((BUNDLED / "cockpit.yaml").read_text(encoding="utf-8"))
    assert errors(validator, {**config, "runner": {**config["runner"], "sandbox": False}}) == []
    tiers = {**config["tiers"], "deep": {"evidence_floor": "merge_proof"}}  # inherits the rest
    assert errors(validator, {**config, "tiers": tiers}) == []
    config["tenat"] = config.pop("tenant")
    assert errors(validator, config)
    assert errors(validator, {**config, "tenant": "x", "runner": {"verfier": "agent:verifier"}})


def test_an_unknown_kind_exits_2_naming_the_valid_ones(cli: Cli) -> None:
    result = cli("schema", "claimz")
    assert result.code == 2 and result.out == ""
    (line,) = result.err.strip().splitlines()
    assert "claimz" in line and all(k.value in line for k in Kind) and "config" in line


def test_output_writes_the_schema_to_a_file(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "claim.schema.json"
    result = cli("schema", "claim", "--output", str(target))
    assert result.code == 0, result.err
    assert str(target) in result.out
    assert json.loads(target.read_text())["title"] == "Cockpit claim entry"
    assert json.loads(target.read_text()) == json.loads(cli("schema", "claim").out)


def test_the_schema_needs_no_workspace_and_takes_the_option(env: Env, cli: Cli) -> None:
    assert cli("schema", "veto", "--workspace", str(env.root)).code == 0
    assert env.cli("schema", "config").code == 0


def test_the_schema_takes_json_as_every_read_command_does(cli: Cli) -> None:
    result = cli("schema", "claim", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == json.loads(cli("schema", "claim").out)
