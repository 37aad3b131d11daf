"""Schema errors in Cockpit's words (issue 15, finding 13): a typo is reported as the
unknown key it is, with the nearest valid name, before the key it leaves missing; every
other problem names the field's path, what was given and what is allowed; pydantic's own
wording never shows; the rejection code stays `schema_error`."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from cockpit.domain import Kind, RejectionCode
from cockpit.engine.entries.models import BODY_MODELS, EntryRejected
from cockpit.engine.entries.parse import parse_entry

PYDANTIC = (
    "Input should",
    "Field required",
    "Extra inputs",
    "String should",
    "Value should",
    "validation error",
    "[type=",
    "further information",
)
HEAD = {
    "schema": "cockpit.entry/v1",
    "work_package": "WP-1",
    "principal": "human:owner",
    "created": "2026-11-21T10:00:00Z",
}
VALID: dict[Kind, dict[str, Any]] = {
    Kind.WORK_PACKAGE: {
        "title": "T",
        "objective": "O",
        "owner": "agent:a",
        "accountable": "human:owner",
        "tier": "standard",
        "lane": "implementation",
    },
    Kind.COMMON_GROUND: {"version": 1},
    Kind.DISPATCH: {"to": "agent:a"},
    Kind.SCOPE_CONFIRMATION: {"confirmed": True},
    Kind.REVIEW: {"verdict": "go"},
    Kind.CLAIM: {"done_state": "done", "common_ground": {"id": "CG", "version": 1, "hash": "ab"}},
    Kind.EVIDENCE: {"items": [{"class": "source_trace", "ref": "a.py"}]},
    Kind.RECOVERY: {"next_action": "retry", "recovery_owner": "agent:a"},
    Kind.CANDIDATE: {"record": "r", "policy_version": 1},
    Kind.VETO: {"reason": "why"},
}


def refusal(kind: Kind, body: Any, **head: Any) -> EntryRejected:
    entry_id = "WP-1" if kind is Kind.WORK_PACKAGE else "E-1"
    document = {**HEAD, "kind": kind.value, "id": entry_id, **head, "body": body}
    with pytest.raises(EntryRejected) as caught:
        parse_entry(yaml.safe_dump(document).encode(), "e.yaml")
    assert caught.value.code is RejectionCode.SCHEMA_ERROR
    message = caught.value.message
    assert not any(phrase in message for phrase in PYDANTIC), message
    assert len(message.splitlines()) == 1
    return caught.value


def test_the_valid_bodies_here_are_valid() -> None:
    for kind, body in VALID.items():
        entry_id = "WP-1" if kind is Kind.WORK_PACKAGE else "E-1"
        document = {**HEAD, "kind": kind.value, "id": entry_id, "body": body}
        parse_entry(yaml.safe_dump(document).encode(), "e.yaml")


@pytest.mark.parametrize(
    ("kind", "typo", "right", "says"),
    [
        (
            Kind.WORK_PACKAGE,
            "titel",
            "title",
            "unknown key `titel` in body (did you mean `title`?)",
        ),
        (Kind.WORK_PACKAGE, "objectve", "objective", "did you mean `objective`?"),
        (Kind.CLAIM, "done_sate", "done_state", "unknown key `done_sate` in body"),
        (Kind.RECOVERY, "recovery_ownr", "recovery_owner", "did you mean `recovery_owner`?"),
        (Kind.SCOPE_CONFIRMATION, "confirmd", "confirmed", "did you mean `confirmed`?"),
    ],
)
def test_a_typod_body_key_is_named_with_the_nearest_valid_key(
    kind: Kind, typo: str, right: str, says: str
) -> None:
    body = dict(VALID[kind])
    body[typo] = body.pop(right)
    assert says in refusal(kind, body).message


def test_typos_in_nested_and_top_level_keys() -> None:
    items = [{"clas": "source_trace", "ref": "a"}]
    message = refusal(Kind.EVIDENCE, {"items": items}).message
    assert message == "unknown key `clas` in body.items[0] (did you mean `class`?)"
    message = refusal(Kind.VETO, VALID[Kind.VETO], tenat="demo").message
    assert message == "unknown key `tenat` (did you mean `tenant`?)"
    pin = {"id": "CG", "verison": 1, "hash": "ab"}
    message = refusal(Kind.CLAIM, {"done_state": "done", "common_ground": pin}).message
    assert message == "unknown key `verison` in body.common_ground (did you mean `version`?)"


def test_a_body_key_at_the_top_level_says_where_it_belongs() -> None:
    body = dict(VALID[Kind.WORK_PACKAGE])
    title = body.pop("title")
    message = refusal(Kind.WORK_PACKAGE, body, title=title).message
    assert message == "`title` belongs in the body of a work_package entry: indent it under `body:`"


@pytest.mark.parametrize(
    ("kind", "field", "value", "says"),
    [
        (
            Kind.WORK_PACKAGE,
            "tier",
            "heavy",
            "body.tier: 'heavy' is not allowed; use light, standard or deep",
        ),
        (Kind.WORK_PACKAGE, "title", "", "body.title: must not be empty"),
        (Kind.WORK_PACKAGE, "title", ["a"], "body.title: expected text, got a list"),
        (Kind.WORK_PACKAGE, "title", None, "body.title: left empty; it takes text"),
        (Kind.CLAIM, "done_state", None, "body.done_state: left empty; use done, partial or"),
        (Kind.COMMON_GROUND, "version", 0, "body.version: must be at least 1, got 0"),
        (Kind.COMMON_GROUND, "version", "two", "body.version: expected a whole number, got 'two'"),
        (Kind.SCOPE_CONFIRMATION, "confirmed", "maybe", "body.confirmed: expected true or false"),
        (Kind.REVIEW, "merge_sha", "xyz", "body.merge_sha: 'xyz' is not of the form"),
        (Kind.CLAIM, "done_state", "finished", "use done, partial or not_fixed"),
        (Kind.CLAIM, "common_ground", "CG", "body.common_ground: expected a mapping"),
        (Kind.RECOVERY, "retry_count", -1, "body.retry_count: must be at least 0, got -1"),
        (Kind.EVIDENCE, "items", {"a": 1}, "body.items: expected a list, got a mapping"),
    ],
)
def test_problems_name_the_path_what_was_given_and_what_is_allowed(
    kind: Kind, field: str, value: Any, says: str
) -> None:
    assert says in refusal(kind, {**VALID[kind], field: value}).message


def test_a_missing_required_key_is_said_so() -> None:
    body = dict(VALID[Kind.WORK_PACKAGE])
    del body["lane"]
    assert refusal(Kind.WORK_PACKAGE, body).message == "body.lane: required, but missing"
    message = refusal(Kind.VETO, VALID[Kind.VETO], created="yesterday").message
    assert message.startswith("created: must be an RFC 3339 timestamp")


def _wrong_values(model: type[BaseModel]) -> list[tuple[str, Any]]:
    return [(name, bad) for name in model.model_fields for bad in ([1, 2], {"k": 1}, -7, True)]


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.value)
def test_no_wrong_value_of_any_field_lets_pydantics_wording_through(kind: Kind) -> None:
    model = BODY_MODELS[kind]
    for name, bad in _wrong_values(model):
        if name == "description" and bad is True:
            continue
        try:
            message = refusal(kind, {**VALID[kind], name: bad}).message
        except pytest.fail.Exception:
            continue  # a value the field takes (e.g. a bool where bool | str is allowed)
        assert f"body.{name}" in message or message.startswith("body:"), message
