"""`cockpit book`: a WP booked from each procedure pack the demo ships is admitted by the
demo's scripted agent (real workspaces, real git, the real runner); the pack's lane
context reaches the handoff and the driver's prompt; a bad pack is one sentence and exit
2; options override the pack; a WP is booked from options alone; what is queued is the
entry `cockpit submit --sign` would queue."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.keys import make_key, public_line
from helpers.workspace import CliResult, Env, run_cli

from cockpit.engine.config.model import load_config
from cockpit.engine.drivers import prompt
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.trust import sshsig

pytestmark = pytest.mark.usefixtures("no_ambient_principal")
AGENT = "agent:scripted"
PACKS = ("bugfix", "dependency-upgrade", "docs-change")


class Demo:
    """`cockpit init --demo DIR` and `cockpit run --once` on it, with a CLI on DIR."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self._capsys = capsys
        made = run_cli(capsys, ["init", str(root), "--demo"])
        assert made.code == 0, made.err
        self.ok("run", "--once")

    def cli(self, *args: str) -> CliResult:
        return run_cli(self._capsys, [*args, "--workspace", str(self.root)])

    def ok(self, *args: str) -> CliResult:
        result = self.cli(*args)
        assert result.code == 0, f"cockpit {' '.join(args)}: {result.err}"
        return result

    def status(self, wp: str) -> dict[str, Any]:
        return self.ok("status", wp, "--json").json()  # type: ignore[no-any-return]

    def handoff(self, wp: str) -> dict[str, Any]:
        path = self.root / "handoffs" / AGENT / f"{wp}.yaml"
        return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Demo:
    monkeypatch.delenv("COCKPIT_SIGNING_KEY", raising=False)
    return Demo(tmp_path / "demo", capsys)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


# -- the acceptance: each shipped pack, booked, dispatched and admitted -------------------


@pytest.mark.parametrize(
    ("pack", "via"),
    [("bugfix", "dispatch"), ("dependency-upgrade", "--to"), ("docs-change", "--to")],
)
def test_a_wp_booked_from_each_shipped_pack_is_admitted_by_the_scripted_agent(
    demo: Demo, pack: str, via: str
) -> None:
    args = ["book", "--procedure", pack, "--title", f"the {pack}", "--target-repo", "project"]
    booked = demo.ok(*args, *(["--to", AGENT] if via == "--to" else []), "--json").json()
    wp = booked["work_package"]
    assert wp == "WP-0007"  # one more than the demo's highest
    assert booked["procedure"]["archetype"] == pack
    pack_bytes = (demo.root / "procedures" / f"{pack}.yaml").read_bytes()
    assert booked["procedure"]["sha256"] == hashlib.sha256(pack_bytes).hexdigest()
    if via == "dispatch":
        assert booked["submitted"] == [wp]
        demo.ok("run", "--once")
        assert demo.status(wp)["state"] == "booked"
        demo.ok("dispatch", wp, "--to", AGENT)
    else:
        assert booked["submitted"] == [wp, f"DSP-{wp}-1"]
    demo.ok("run", "--once")

    status = demo.status(wp)
    assert status["state"] == "accepted", status
    assert status["last_verify"]["outcome"] == "success", status["last_verify"]
    assert status["assignee"] == AGENT
    # The handoff carries the pack's lane context (its steps in the scripted lane).
    handoff = demo.handoff(wp)
    context = handoff["procedure"]
    assert context["archetype"] == pack and context["lane"] == "scripted"
    assert context["pack_sha256"] == booked["procedure"]["sha256"]
    assert context["steps"] and all(step["context"] for step in context["steps"])
    assert [s["step"] for s in context["sequence"]] == [s["step"] for s in context["steps"]]
    assert context["required_packets"] == ["common_ground", "evidence", "claim"]
    # The reviewer's report names the procedure, pointing at the booking.
    report = demo.ok("report", wp).out
    row = next(line for line in report.splitlines() if line.startswith("| Procedure |"))
    assert f"{pack} (pack sha256 {booked['procedure']['sha256']})" in row
    assert f"`{wp}\\@sha256:" not in row and f"`{wp}@sha256:" in row
    worktree = demo.root / "worktrees" / wp
    base = handoff["worktree"]["base_commit"]
    changed = set(git(worktree, "diff", "--name-only", base, "HEAD").split())
    if pack == "bugfix":
        assert changed == {"names.py", "checks/check_names.py"}
        # The regression check fails on the base (the bug reproduces) and passes now.
        before = demo.root.parent / "before"
        (before / "checks").mkdir(parents=True)
        (before / "names.py").write_text(git(demo.root / "project", "show", f"{base}:names.py"))
        check = (worktree / "checks" / "check_names.py").read_text()
        (before / "checks" / "check_names.py").write_text(check)
        run = [sys.executable, "-B", "checks/check_names.py"]
        assert subprocess.run(run, cwd=before, capture_output=True).returncode != 0
        assert subprocess.run(run, cwd=worktree, capture_output=True).returncode == 0
    elif pack == "dependency-upgrade":
        assert changed == {"requirements.txt"}
        assert "requests==2.32.0" in (worktree / "requirements.txt").read_text()
    else:
        assert changed == {"README.md"}
        readme = (worktree / "README.md").read_text()
        assert "`greet.greet(name)`" in readme and "`names.initials(name)`" in readme
    # The project itself never changed, and the demo's own WP was not disturbed.
    assert git(demo.root / "project", "status", "--porcelain") == ""
    assert demo.status("WP-0006")["state"] == "accepted"


def test_the_booked_entry_is_signed_and_valid_where_the_demo_requires_signatures(
    demo: Demo,
) -> None:
    booked = demo.ok(
        "book", "-p", "docs-change", "-t", "Document it", "--target-repo", "project", "--json"
    ).json()
    entry = demo.root / "queue" / "new" / f"{booked['work_package']}.yaml"
    data = entry.read_bytes()
    parsed = parse_entry(data, entry.name)
    config = load_config(demo.root / "cockpit.yaml")
    assert config.signatures_required
    assert parsed.entry.workspace == config.workspace and parsed.entry.tenant == "demo"
    assert parsed.entry.principal == "human:owner"
    signature = sshsig.parse(entry.with_name(entry.name + ".sig").read_bytes())
    sshsig.verify(signature, data, "cockpit-entry")
    assert signature.key.blob in {k.blob for k in config.keys_of("human:owner")}
    body = parsed.entry.body
    assert body.procedure is not None and body.procedure.archetype == "docs-change"
    assert body.objective == "Document it: the README of project documents every public function"
    assert body.rollback_plan and "WP-0007" in body.rollback_plan
    # Ingested as any signed entry is.
    demo.ok("run", "--once")
    assert demo.status("WP-0007")["state"] == "booked"


def test_the_drivers_prompt_carries_the_lanes_steps(demo: Demo) -> None:
    demo.ok("book", "-p", "bugfix", "-t", "initials() crashes", "--target-repo", "project")
    demo.ok("book", "-t", "No pack", "--objective", "x", "--lane", "scripted", "--tier", "light")
    demo.ok("run", "--once")
    demo.ok("dispatch", "WP-0007", "--to", AGENT)
    demo.ok("run", "--once")
    lines = prompt.brief(demo.handoff("WP-0007"))
    text = "\n".join(lines)
    assert "Procedure: bugfix: Fix a reported bug" in text
    assert "Your steps (lane scripted), in order:" in text
    assert "1. reproduce: Reproduce the bug before changing any code" in text
    assert 'what "initials() crashes" describes' in text  # {title} filled in
    assert "3. regression-check: " in text and "Rollback plan: Revert the fix" in text
    assert lines.index("Your steps (lane scripted), in order:") < len(lines) - 1
    assert prompt.procedure(None) == []  # a WP booked without a pack


# -- a workspace of its own: packs written by the test ----------------------------------

GOOD = """\
schema: cockpit.procedure/v1
archetype: {name}
description: A test procedure.
tier: standard
lane: implementation
required_packets: [common_ground, evidence, claim]
sequence:
  - {{lane: implementation, step: first, context: "Do the first thing for {{title}}."}}
  - {{lane: review, step: second, context: Check it.}}
scope:
  objective: "Do {{title}} in {{target_repo}} ({{id}}, lane {{lane}}; literal {{{{braces}}}})"
  success_criteria: ["{{title}} holds"]
  owned_surfaces: ["src/**"]
  forbidden_surfaces: [".github/**"]
  labels: [tested]
validation_commands: ['test -n "${{HOME}}"']
rollback: {{plan: "Reset wp/{{id}}.", triggers: [a check fails]}}
"""


def write_pack(env: Env, name: str, text: str | None = None) -> Path:
    path = env.root / "procedures" / f"{name}.yaml"
    path.write_text(text if text is not None else GOOD.format(name=name), encoding="utf-8")
    return path


def queued(env: Env, wp: str) -> dict[str, Any]:
    return yaml.safe_load((env.new / f"{wp}.yaml").read_text())  # type: ignore[no-any-return]


def test_init_makes_the_procedures_directory(env: Env) -> None:
    assert (env.root / "procedures").is_dir()


def test_a_booking_fills_the_packs_templates_and_records_its_context(env: Env) -> None:
    write_pack(env, "mine")
    result = env.cli("book", "--procedure", "mine", "--title", "T", "--target-repo", "repo")
    assert result.code == 0, result.err
    assert "Booked WP-0001 from procedures/mine.yaml: queued WP-0001." in result.out
    assert not (env.new / "WP-0001.yaml.sig").exists()  # unsigned where nothing asks for it
    body = queued(env, "WP-0001")["body"]
    assert body["objective"] == "Do T in repo (WP-0001, lane implementation; literal {braces})"
    assert body["success_criteria"] == ["T holds"]
    assert body["validation_commands"] == ['test -n "${HOME}"']  # never templated
    assert (body["owner"], body["accountable"]) == ("agent:implementer-1", "human:owner")
    assert (body["tier"], body["lane"], body["labels"]) == (
        "standard",
        "implementation",
        ["tested"],
    )
    assert body["rollback_plan"] == "Reset wp/WP-0001."
    assert body["procedure"]["sequence"][0] == {
        "lane": "implementation",
        "step": "first",
        "context": "Do the first thing for T.",
    }
    assert body["procedure"]["rollback"] == {
        "plan": "Reset wp/WP-0001.",
        "triggers": ["a check fails"],
    }
    assert env.cli("run", "--once").code == 0
    assert env.wp("WP-0001")["state"] == "booked"  # type: ignore[index]


def test_options_override_the_pack(env: Env) -> None:
    write_pack(env, "mine")
    result = env.cli(
        "book", "-p", "mine", "-t", "T", "--target-repo", "repo", "--objective", "Mine",
        "--tier", "light", "--id", "WP-77", "--criterion", "also this", "--label", "canary",
        "--owner", "agent:implementer-1", "--accountable", "human:reviewer",
        "--base-ref", "main", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["submitted"] == ["WP-77"]
    body = queued(env, "WP-77")["body"]
    assert (body["objective"], body["tier"], body["base_ref"]) == ("Mine", "light", "main")
    assert body["success_criteria"] == ["T holds", "also this"]
    assert body["labels"] == ["tested", "canary"]
    assert body["accountable"] == "human:reviewer"
    # Next free id: one more than the highest WP-n booked, past what waits in the queue.
    assert env.cli("run", "--once").code == 0
    again = env.cli("book", "-p", "mine", "-t", "U", "--target-repo", "r", "--json")
    assert again.json()["work_package"] == "WP-0078"
    taken = env.cli("book", "-p", "mine", "-t", "U", "--target-repo", "r", "--id", "WP-77")
    assert (taken.code, taken.err.strip()) == (
        2,
        "cockpit: WP-77 is in use already; choose another id, or leave --id out.",
    )


def test_a_lane_the_pack_has_no_step_for_is_refused(env: Env) -> None:
    write_pack(env, "mine")
    result = env.cli("book", "-p", "mine", "-t", "T", "--target-repo", "r", "--lane", "other")
    assert result.code == 2
    assert result.err.strip() == (
        "cockpit: the mine procedure has no step for lane other (its lanes: implementation, "
        "review); book it into one of those, or without --procedure."
    )


def test_booking_without_a_pack_takes_its_fields_from_the_options(env: Env) -> None:
    missing = env.cli("book", "--title", "Plain")
    assert missing.code == 2 and "without --procedure, give --lane and --tier" in missing.err
    no_objective = env.cli("book", "-t", "Plain", "--lane", "implementation", "--tier", "light")
    assert no_objective.code == 2 and "give --objective" in no_objective.err
    result = env.cli(
        "book", "-t", "Plain", "--objective", "do it", "--lane", "implementation",
        "--tier", "light", "--to", "agent:implementer-1", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json() == {
        "submitted": ["WP-0001", "DSP-WP-0001-1"],
        "work_package": "WP-0001",
        "procedure": None,
    }
    entry = queued(env, "WP-0001")
    assert "procedure" not in entry["body"]
    assert entry["body"]["owner"] == "agent:implementer-1"
    assert env.cli("run", "--once").code == 0
    wp = env.wp("WP-0001")
    assert (
        wp is not None and wp["state"] == "dispatched" and wp["assignee"] == "agent:implementer-1"
    )
    handoff = yaml.safe_load(
        (env.root / "handoffs" / "agent:implementer-1" / "WP-0001.yaml").read_text()
    )
    assert "procedure" not in handoff


BAD = [
    (
        "unknown field",
        lambda text: text.replace("tier: standard", "tier: standard\ncolour: red"),
        "cockpit: procedures/bad.yaml: unknown key `colour`.",
    ),
    (
        "wrong archetype",
        lambda text: text.replace("archetype: bad", "archetype: good"),
        "cockpit: procedures/bad.yaml: archetype 'good' must equal the file's stem 'bad'.",
    ),
    (
        "unknown placeholder",
        lambda text: text.replace('["{title} holds"]', '["{titel} holds"]'),
        "cockpit: procedures/bad.yaml: scope.success_criteria[0]: unknown placeholder {titel} "
        "(the placeholders are {id}, {title}, {target_repo}, {lane}).",
    ),
    (
        "lone brace",
        lambda text: text.replace("context: Check it.", 'context: "Check it }"'),
        "cockpit: procedures/bad.yaml: sequence[1].context: a lone '}' (write }} for a "
        "literal brace).",
    ),
    (
        "lane without a step",
        lambda text: text.replace("lane: implementation\n", "lane: scripted\n"),
        "cockpit: procedures/bad.yaml: lane: scripted has no step in sequence (its lanes: "
        "['implementation', 'review']).",
    ),
    (
        "deep without rollback",
        lambda text: text.replace("tier: standard", "tier: deep").split("rollback:")[0],
        "cockpit: procedures/bad.yaml: rollback: required for the deep tier (its plan is the "
        "rollback_plan).",
    ),
    (
        "a packet no agent files",
        lambda text: text.replace("[common_ground, evidence, claim]", "[claim, review]"),
        "cockpit: procedures/bad.yaml: required_packets: review is not a packet an agent "
        "files; use common_ground, scope_confirmation, claim, evidence, recovery, candidate.",
    ),
    (
        "a wrong type",
        lambda text: text.replace("tier: standard", "tier: heavy"),
        "cockpit: procedures/bad.yaml: tier: 'heavy' is not allowed; use light, standard or deep.",
    ),
    (
        "an escaping glob",
        lambda text: text.replace('["src/**"]', '["../src/**"]'),
        "cockpit: procedures/bad.yaml: scope.owned_surfaces: '../src/**' escapes the worktree "
        "(absolute or '..').",
    ),
    (
        "another format",
        lambda text: text.replace("cockpit.procedure/v1", "cockpit.procedure/v2"),
        "cockpit: procedures/bad.yaml: schema must be cockpit.procedure/v1, got "
        "'cockpit.procedure/v2'.",
    ),
    (
        "not YAML",
        lambda text: "schema: [unclosed\n",
        "cockpit: procedures/bad.yaml is not valid YAML",
    ),
]


@pytest.mark.parametrize(("what", "edit", "said"), BAD, ids=[b[0] for b in BAD])
def test_a_malformed_pack_is_one_sentence_and_exit_2(
    env: Env, what: str, edit: Any, said: str
) -> None:
    write_pack(env, "bad", edit(GOOD.format(name="bad")))
    result = env.cli("book", "--procedure", "bad", "--title", "T", "--target-repo", "r")
    assert result.code == 2, what
    assert result.err.startswith(said) and result.err.count("\n") == 1, result.err
    assert not list(env.new.iterdir())  # nothing queued


def test_a_missing_or_unnamable_pack_is_one_sentence_and_exit_2(env: Env) -> None:
    write_pack(env, "there")
    missing = env.cli("book", "-p", "nope", "-t", "T")
    assert (missing.code, missing.err.strip()) == (
        2,
        "cockpit: no procedure pack nope: procedures/nope.yaml does not exist (the packs "
        "there: there).",
    )
    outside = env.cli("book", "-p", "../cockpit", "-t", "T")
    assert outside.code == 2 and "--procedure takes a pack's name" in outside.err
    no_value = env.cli("book", "-p", "there", "-t", "T")
    assert (no_value.code, no_value.err.strip()) == (
        2,
        "cockpit: procedures/there.yaml: scope.objective uses {target_repo}, which has no "
        "value (give --target-repo).",
    )


def test_the_help_says_what_an_operator_needs(cli: Any) -> None:
    result = cli("book", "--help")
    assert result.code == 0
    for words in ("--procedure", "procedures/NAME.yaml", "{title}", "--to", "--json"):
        assert words in result.out


def test_under_optional_signatures_a_principal_without_a_key_at_hand_books_unsigned(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `cockpit submit` does: a listed public key but no private key at hand (no --key,
    no $COCKPIT_SIGNING_KEY, no ssh-agent) is no reason to refuse where signing is optional."""
    for name in ("COCKPIT_SIGNING_KEY", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)
    key = make_key(tmp_path / "keys", "owner")
    path = env.root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config["principals"]["human:owner"]["keys"] = [public_line(key)]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env.reload()
    result = env.cli(
        "book", "-t", "Plain", "--objective", "do it", "--lane", "implementation",
        "--tier", "light", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert not (env.new / "WP-0001.yaml.sig").exists()
    signed = env.cli(
        "book", "-t", "Signed", "--objective", "do it", "--lane", "implementation",
        "--tier", "light", "--key", str(key), "--json",
    )  # fmt: skip
    assert signed.code == 0, signed.err
    assert (env.new / "WP-0002.yaml.sig").exists()


def test_a_lane_the_workspace_does_not_have_is_named(env: Env) -> None:
    result = env.cli("book", "-t", "x", "--objective", "o", "--lane", "ghost", "--tier", "light")
    assert result.code == 2
    assert result.err.strip().endswith(
        "--lane names lane ghost, which cockpit.yaml does not have (its lanes: implementation)."
    )
    assert list(env.new.iterdir()) == []
