"""`cockpit new KIND WP`: a template of every kind, filled in as a person or an agent would
(typing after the colons it leaves empty), is accepted by `cockpit submit` and ingested by
`cockpit run --once` on a real workspace where the WP is in the state the kind needs; and
what the handoff tells an agent to run works, inside its sandbox too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.process import clean_env
from helpers.workspace import CliResult, Env

from cockpit.domain import Kind
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.engine.runner.handoff import write_handoff

pytestmark = pytest.mark.usefixtures("no_ambient_principal")
AGENT = "agent:implementer-1"


def fill(path: Path, **values: str) -> None:
    """Type each value after its empty `key:` (the first one of that key), as a user would."""
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        pattern = rf"^(\s*(?:- )?){re.escape(key)}:[ \t]*$"
        text, count = re.subn(pattern, rf"\g<1>{key}: {value}", text, count=1, flags=re.M)
        assert count == 1, f"no empty {key}: in {path.name}"
    path.write_text(text, encoding="utf-8")


def new(env: Env, kind: str, wp: str, *args: str) -> dict[str, Any]:
    result = env.cli("new", kind, wp, "--json", "--output", str(env.root.parent / "x.yaml"), *args)
    assert result.code == 0, result.err
    made: dict[str, Any] = result.json()
    target = env.root.parent / f"{made['id']}.yaml"
    Path(made["file"]).rename(target)
    made["file"] = target
    return made


def file_and_ingest(env: Env, kind: str, wp: str, *args: str, **values: str) -> dict[str, Any]:
    """Make the template, fill it in, submit it and run the runner once: the entry must be
    ingested. Returns the WP's status."""
    made = new(env, kind, wp, *args)
    fill(made["file"], **values)
    submitted = env.cli("submit", str(made["file"]), "--json")
    assert submitted.code == 0, submitted.err
    assert submitted.json()["submitted"] == [made["id"]]
    run = env.cli("run", "--once", "--json")
    assert run.code == 0, run.err
    assert (run.json()["ingested"], run.json()["rejected"]) == (1, 0), run.out
    assert made["id"] in [e["id"] for e in status(env, wp)["entries"]]
    return status(env, wp)


def status(env: Env, wp: str) -> dict[str, Any]:
    result = env.cli("status", wp, "--json")
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document


def test_a_template_of_every_kind_is_submitted_and_ingested(env: Env) -> None:
    kinds: set[str] = set()

    def step(kind: str, wp: str, *args: str, state: str, **values: str) -> None:
        assert file_and_ingest(env, kind, wp, *args, **values)["state"] == state, kind
        kinds.add(kind)

    step("work_package", "WP-1", state="booked", title="Fix it", objective="make it right")
    step("dispatch", "WP-1", state="dispatched")
    step("scope_confirmation", "WP-1", "--as", AGENT, state="scope_confirmed", confirmed="true")
    step("review", "WP-1", state="in_progress", verdict="go")
    step("common_ground", "WP-1", "--as", AGENT, state="in_progress")
    step("veto", "WP-1", state="in_progress", reason="wait for the release")
    step("veto", "WP-1", state="in_progress", reason="released")  # the template lifts it
    assert not status(env, "WP-1")["vetoed"]
    evidence = {"class": "local_command_proof", "ref": "check.sh", "command": "sh check.sh"}
    step("evidence", "WP-1", "--as", AGENT, state="in_progress", exit_code="0", **evidence)
    step("claim", "WP-1", "--as", AGENT, state="accepted", done_state="done")
    step("candidate", "WP-1", "--as", AGENT, state="accepted", record="check.sh proves it")
    # The candidate cites the evidence the claim cites, so the Canon Gate can commission it.
    entries = status(env, "WP-1")["entries"]
    cited = [e["id"] for e in entries if e["kind"] == "evidence"]
    candidate = next(e["id"] for e in entries if e["kind"] == "candidate")
    commissioned = env.cli("commission", candidate, "--json")
    assert commissioned.code == 0, commissioned.out + commissioned.err
    assert commissioned.json()["commissioned"] is True and cited
    step("review", "WP-1", state="complete", verdict="accepted")
    # A second WP, whose agent declines the scope and then claims it partly done: blocked,
    # for a recovery.
    step("work_package", "WP-2", state="booked", title="Two", objective="the second")
    step("dispatch", "WP-2", state="dispatched")
    step("scope_confirmation", "WP-2", "--as", AGENT, state="dispatched", confirmed="false")
    env.cli("override", "WP-2", "--to", "in_progress", "--reason", "test setup")
    step(
        "evidence",
        "WP-2",
        "--as",
        AGENT,
        state="in_progress",
        **{"class": "runtime_proof"},
        ref="x",
    )
    step("claim", "WP-2", "--as", AGENT, state="blocked", done_state="partial")
    step("recovery", "WP-2", state="recovering", recovery_owner=AGENT, next_action="finish it")
    assert kinds == {k.value for k in Kind}


def test_what_the_templates_fill_in(env: Env) -> None:
    file_and_ingest(env, "work_package", "WP-1", title="T", objective="O")
    file_and_ingest(env, "dispatch", "WP-1")
    scope = load_yaml(new(env, "scope_confirmation", "WP-1", "--as", AGENT)["file"].read_text())
    assert scope["refs"] == ["DSP-WP-1-1"] and scope["principal"] == AGENT
    assert scope["tenant"] == "demo" and scope["workspace"] == env.ws.config.workspace
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", scope["created"])
    assert scope["body"] == {"confirmed": None, "notes": None, "description": None}
    env.cli("override", "WP-1", "--to", "in_progress", "--reason", "test setup")
    file_and_ingest(env, "common_ground", "WP-1", "--as", AGENT)
    file_and_ingest(env, "evidence", "WP-1", "--as", AGENT, **{"class": "static_proof"}, ref="a")
    claim = load_yaml(new(env, "claim", "WP-1", "--as", AGENT)["file"].read_text())
    with env.store() as store:
        ground, evidence = store.entry("CG-WP-1-1"), store.entry("EVD-WP-1-1")
    assert ground is not None and evidence is not None
    assert claim["refs"] == [f"EVD-WP-1-1@sha256:{evidence['sha256']}"]
    assert claim["body"]["evidence"] == ["EVD-WP-1-1"]
    assert claim["body"]["common_ground"] == {
        "id": "CG-WP-1-1",
        "version": 1,
        "hash": ground["sha256"],
    }
    assert (claim["body"]["owner"], claim["body"]["accountable"]) == (AGENT, "human:owner")
    assert claim["body"]["done_state"] is None  # the agent's to say
    ground_2 = load_yaml(new(env, "common_ground", "WP-1", "--as", AGENT)["file"].read_text())
    assert ground_2["body"]["version"] == 2 and ground_2["refs"] == ["CG-WP-1-1"]


def test_an_unfilled_template_is_refused_naming_the_field(env: Env) -> None:
    made = new(env, "work_package", "WP-1")
    result = env.cli("submit", str(made["file"]))
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert "schema_error" in line and "body.title" in line
    assert not list(env.new.iterdir())


def test_the_default_file_is_named_after_a_fresh_id(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_and_ingest(env, "work_package", "WP-1", title="T", objective="O")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    first = env.cli("new", "dispatch", "WP-1")
    assert first.code == 0, first.err
    assert "DSP-WP-1-1.yaml" in first.out and "cockpit submit DSP-WP-1-1.yaml" in first.out
    second = env.cli("new", "dispatch", "WP-1")  # DSP-WP-1-1.yaml is there: a new id
    assert second.code == 0 and "DSP-WP-1-2.yaml" in second.out
    assert load_yaml((here / "DSP-WP-1-2.yaml").read_text())["id"] == "DSP-WP-1-2"
    assert env.cli("submit", str(here / "DSP-WP-1-1.yaml")).code == 0
    (here / "DSP-WP-1-1.yaml").unlink()
    third = env.cli("new", "dispatch", "WP-1")  # DSP-WP-1-1 waits in the queue: not reused
    assert third.code == 0 and "DSP-WP-1-3.yaml" in third.out
    again = env.cli("new", "work_package", "WP-2")
    assert again.code == 0 and (here / "WP-2.yaml").is_file()
    refused = env.cli("new", "work_package", "WP-2")
    assert refused.code == 2 and "WP-2.yaml" in refused.err and "--output" in refused.err


def test_output_dash_prints_the_template(env: Env) -> None:
    result = env.cli("new", "work_package", "WP-1", "--output", "-")
    assert result.code == 0, result.err
    document = load_yaml(result.out)
    assert document["id"] == "WP-1" and document["kind"] == "work_package"
    assert "REQUIRED" in result.out
    both = env.cli("new", "work_package", "WP-1", "--output", "-", "--json")
    assert both.code == 2 and len(both.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["claimz", "WP-1"], "work_package, common_ground"),
        (["dispatch", "WP-9"], "WP-9 has not been booked"),
        (["work_package", "WP-1"], "booked already"),
        (["work_package", "bad id!"], "not a work package id"),
        (["claim", "WP-1"], f"--as one of: {AGENT}"),
        (["dispatch", "WP-1", "--as", AGENT], "--as one of: human:owner"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(env: Env, args: list[str], says: str) -> None:
    file_and_ingest(env, "work_package", "WP-1", title="T", objective="O")
    result = env.cli("new", *args)
    assert result.code == 2, (result.out, result.err)
    (line,) = result.err.strip().splitlines()
    assert says in line
    assert result.out == ""


def test_a_not_ingested_wp_says_what_to_run(env: Env) -> None:
    made = new(env, "work_package", "WP-1")
    fill(made["file"], title="T", objective="O")
    assert env.cli("submit", str(made["file"])).code == 0
    result = env.cli("new", "dispatch", "WP-1")
    assert result.code == 2
    assert "1 entries wait in queue/new" in result.err and "cockpit run --once" in result.err


def test_the_handoff_points_the_agent_at_new_and_schema_and_they_work_in_its_sandbox(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    file_and_ingest(env, "work_package", "WP-1", title="T", objective="O")
    file_and_ingest(env, "dispatch", "WP-1")
    with env.store() as store:
        wp = store.work_package("WP-1")
        assert wp is not None
        path, _digest = write_handoff(env.ws, store, wp)
    handoff = load_yaml(path.read_text())
    said = handoff["instructions"]
    assert "`cockpit new scope_confirmation WP-1`" in said
    assert "`cockpit schema scope_confirmation`" in said
    assert "cockpit new KIND WP" in handoff["return"]["how"]
    # Inside the sandbox: no workspace, no store, no config; the handoff and the outbox.
    outbox = tmp_path / "outbox"
    (outbox / "new").mkdir(parents=True)
    (outbox / "tmp").mkdir()
    box = tmp_path / "box"
    box.mkdir()
    monkeypatch.chdir(box)
    monkeypatch.setenv("COCKPIT_OUTBOX", str(outbox))
    monkeypatch.setenv("COCKPIT_HANDOFF", str(path))
    monkeypatch.setenv("COCKPIT_PRINCIPAL", AGENT)
    monkeypatch.setenv("COCKPIT_WORK_PACKAGE", "WP-1")
    command = re.search(r"`cockpit (new scope_confirmation WP-1)`", said)
    assert command is not None
    made = cli(*command.group(1).split(), "--json")
    assert made.code == 0, made.err
    schema = cli("schema", "scope_confirmation")
    assert (
        schema.code == 0 and json.loads(schema.out)["title"] == "Cockpit scope_confirmation entry"
    )
    draft = Path(made.json()["file"])
    assert load_yaml(draft.read_text())["refs"] == ["DSP-WP-1-1"]
    wrong = cli("new", "claim", "WP-2")
    assert wrong.code == 2 and "WP-1, not WP-2" in wrong.err
    # A handoff that is not as Cockpit writes it is a sentence, not a traceback.
    for odd in ("work_package: WP-1\n", "work_package: {id: WP-1}\ncommon_ground: {version: 1}\n"):
        bad = tmp_path / "odd-handoff.yaml"
        bad.write_text(f"schema: {handoff['schema']}\n{odd}")
        monkeypatch.setenv("COCKPIT_HANDOFF", str(bad))
        refused = cli("new", "claim", "WP-1", "--output", "-")
        assert refused.code == 2 and "not as Cockpit writes it" in refused.err, refused.err
    monkeypatch.setenv("COCKPIT_HANDOFF", str(path))
    # Out of the sandbox again, the filled-in draft is taken.
    for name in ("COCKPIT_OUTBOX", "COCKPIT_HANDOFF", "COCKPIT_PRINCIPAL", "COCKPIT_WORK_PACKAGE"):
        monkeypatch.delenv(name)
    fill(draft, confirmed="true")
    assert env.cli("submit", str(draft)).code == 0
    assert env.cli("run", "--once").code == 0
    assert status(env, "WP-1")["state"] == "scope_confirmed"


_WRAPPER = """
import json, sys
from cockpit.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print()
print(json.dumps({"code": code, "textual": "textual" in sys.modules}))
"""


@pytest.mark.parametrize("args", [["schema", "claim"], ["new", "work_package", "WP-9", "-o", "-"]])
def test_schema_and_new_import_no_textual(env: Env, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args, "--workspace", str(env.root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    marker = json.loads(proc.stdout.strip().splitlines()[-1])
    assert marker == {"code": 0, "textual": False}, proc.stderr


def test_a_kind_the_wps_state_does_not_allow_is_drafted_with_a_warning(env: Env) -> None:
    """The draft is written (the WP may move before it is submitted), but `new` says at once
    what the runner would say of it now."""
    file_and_ingest(env, "work_package", "WP-1", title="Fix it", objective="make it right")
    result = env.cli("new", "claim", "WP-1", "--as", AGENT, "--output", "-")
    assert result.code == 0, result.err
    assert "WP-1 is booked now, so the runner would refuse this entry" in result.err
    assert "claim" in result.err and "in_progress" in result.err
    fine = env.cli("new", "dispatch", "WP-1", "--output", "-")
    assert fine.code == 0 and fine.err == ""
    assert "`cockpit submit " in fine.out and "--sign" not in fine.out  # signatures optional
