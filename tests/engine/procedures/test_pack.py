"""Procedure packs, pure: templates are filled once and safely, the shipped packs are
valid, and the handoff's procedure part is derived from the record alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cockpit.engine.entries.models import WorkPackageBody
from cockpit.engine.procedures.pack import fill, load_pack, placeholders
from cockpit.engine.runner.handoff import procedure_context
from cockpit.engine.workspace.scaffold import demo_source
from cockpit.errors import InputError

VALUES = {"id": "WP-1", "title": "T", "target_repo": None, "lane": "scripted"}


def test_placeholders_are_named_and_literal_braces_doubled() -> None:
    assert placeholders("{title} in {lane} {{x}}") == ["title", "lane"]
    assert fill("{title} {{x}} }}", VALUES) == "T {x} }"


def test_a_value_holding_braces_is_not_read_again() -> None:
    assert fill("{title}", {**VALUES, "title": "{id} {nope"}) == "{id} {nope"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{titel}", "unknown placeholder {titel}"),
        ("{title.__class__}", "unknown placeholder {title.__class__}"),
        ("{0}", "unknown placeholder {0}"),
        ("a { b", "a lone '{'"),
        ("a } b", "a lone '}'"),
    ],
)
def test_what_is_not_a_placeholder_is_refused(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said.replace("{", r"\{").replace(".", r"\.")):
        placeholders(text)


def test_a_placeholder_without_a_value_names_the_option() -> None:
    with pytest.raises(InputError, match=r"x\.yaml: rollback uses \{target_repo\}.*--target-repo"):
        fill("in {target_repo}", VALUES, "x.yaml: rollback")


@pytest.mark.parametrize("name", ["bugfix", "dependency-upgrade", "docs-change"])
def test_the_demo_ships_valid_packs_for_its_scripted_lane(name: str) -> None:
    loaded = load_pack(demo_source(), name)
    assert loaded.pack.archetype == name and loaded.pack.lane == "scripted"
    assert loaded.pack.validation_commands and loaded.pack.rollback is not None
    record = loaded.record({**VALUES, "target_repo": "project"})
    assert all("{" not in step.context for step in record.sequence)


def test_the_record_must_have_a_step_for_the_wps_lane() -> None:
    body = {
        "title": "T",
        "objective": "O",
        "owner": "a",
        "accountable": "b",
        "tier": "light",
        "lane": "other",
        "procedure": {
            "archetype": "x",
            "sha256": "0" * 64,
            "sequence": [{"lane": "scripted", "step": "s", "context": "c"}],
        },
    }
    with pytest.raises(ValueError, match="no step for lane other"):
        WorkPackageBody.model_validate(body)


def test_the_handoff_tells_the_lane_its_own_steps_and_the_whole_sequence() -> None:
    record = {
        "archetype": "x",
        "sha256": "f" * 64,
        "required_packets": ["claim"],
        "sequence": [
            {"lane": "a", "step": "one", "context": "first"},
            {"lane": "b", "step": "two", "context": "second"},
            {"lane": "a", "step": "three", "context": "third"},
        ],
    }
    context = procedure_context(record, "a")
    assert context == procedure_context(record, "a")  # the same record, the same document
    assert context is not None
    assert context["steps"] == [
        {"step": "one", "context": "first"},
        {"step": "three", "context": "third"},
    ]
    assert [s["step"] for s in context["sequence"]] == ["one", "two", "three"]
    assert list(context) == [
        "archetype",
        "description",
        "pack_sha256",
        "lane",
        "steps",
        "sequence",
        "required_packets",
        "rollback",
    ]
    assert procedure_context(None, "a") is None


def test_a_linked_pack_and_a_fifo_are_refused_by_name_and_never_followed(tmp_path: Path) -> None:
    packs = tmp_path / "procedures"
    packs.mkdir()
    (packs / "real.yaml").write_bytes((demo_source() / "procedures" / "bugfix.yaml").read_bytes())
    (packs / "linked.yaml").symlink_to(packs / "real.yaml")
    os.mkfifo(packs / "piped.yaml")
    with pytest.raises(InputError, match=r"^procedures/linked\.yaml is a symbolic link; "):
        load_pack(tmp_path, "linked")
    with pytest.raises(InputError, match=r"the packs there: real\)$"):
        load_pack(tmp_path, "piped")  # not a file: not waited on, not listed
    with pytest.raises(InputError, match="archetype 'bugfix' must equal the file's stem 'real'"):
        load_pack(tmp_path, "real")
