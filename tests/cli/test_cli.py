"""The command line (SPEC 2, 8): workspace resolution, config validation, exit codes and
one-line errors, the demo walkthrough, dry runs, and that the CLI's read path never
imports Textual. Real workspaces, real processes where the process boundary matters."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.process import clean_env
from helpers.workspace import SPEC_EVENT_FIELDS, CliResult

from cockpit.engine.config.model import load_config
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.runner.loop import run_once
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace

REPO = Path(__file__).resolve().parents[2]
STATUS_KEYS = {
    "id",
    "title",
    "state",
    "tier",
    "owner",
    "accountable",
    "assignee",
    "overridden",
    "last_verify",
}
LAST_VERIFY_KEYS = {"outcome", "acceptance_status", "blocking_predicate", "blocked_reason_class"}
DEMO_WPS = ["WP-0001", "WP-0002", "WP-0003", "WP-0004", "WP-0005", "WP-0006"]

Cli = Callable[..., CliResult]


def cockpit(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m cockpit ARGS` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env if env is not None else clean_env(),
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def stdout_is_json_or_empty(out: str) -> None:
    """With --json a document may be printed whatever the exit code; nothing else is."""
    if out.strip():
        json.loads(out)


def tree_digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under `roots` (files or directories), by path."""
    digest: dict[str, str] = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def relative_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`init --demo` and one `run --once` (read-only tests share it)."""
    root = tmp_path_factory.mktemp("cli") / "demo"
    ws = init_workspace(root, demo=True)
    with ws.open_store() as store:
        run_once(ws, store)
    return root


# -- (a) no Textual on the engine, store and CLI paths ----------------------------------------


def test_textual_is_installed_so_the_import_checks_mean_something() -> None:
    assert importlib.util.find_spec("textual") is not None


def test_engine_store_and_cli_modules_never_import_textual() -> None:
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import cockpit.engine, cockpit.store, cockpit.cli
        from cockpit.cli import main
        for package in (cockpit.engine, cockpit.store):
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(info.name)
        loaded = sorted(m for m in sys.modules if m.startswith("cockpit."))
        assert "cockpit.engine.runner.loop" in loaded and "cockpit.store.db" in loaded, loaded
        print("textual" in sys.modules)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


_WRAPPER = textwrap.dedent(
    """
    import json, sys
    from cockpit.cli import main
    try:
        main(sys.argv[1:])
        code = 0
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    print()
    print(json.dumps({"code": code, "textual": "textual" in sys.modules}))
    """
)


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--json"],
        ["status", "WP-0001", "--json"],
        ["rejected", "--json"],
        ["audit", "verify", "--json"],
        ["audit", "log", "WP-0001", "--json"],
        ["run", "--once", "--mode", "dry-run", "--json"],
        ["metrics", "--json"],
        ["lineage", "WP-0001", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_cli_read_commands_run_without_textual(demo: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args, "--workspace", str(demo)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    marker = json.loads(proc.stdout.strip().splitlines()[-1])
    assert marker["code"] in (0, None), proc.stderr
    assert marker["textual"] is False


def test_status_process_imports_no_textual_module(demo: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "cockpit",
            "status",
            "--json",
            "--workspace",
            str(demo),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert proc.returncode == 0
    imports = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert any("cockpit.engine" in line for line in imports), "importtime output is there"
    assert [line for line in imports if "textual" in line] == []
    assert len(json.loads(proc.stdout)) == len(DEMO_WPS)


# -- (b) status ----------------------------------------------------------------------------------


def test_status_lists_every_demo_wp_with_exactly_the_spec_keys(demo: Path, cli: Cli) -> None:
    result = cli("status", "--json", "--workspace", str(demo))
    assert result.code == 0, result.err
    assert result.err == ""
    rows = result.json()
    assert [row["id"] for row in rows] == DEMO_WPS
    for row in rows:
        assert set(row) == STATUS_KEYS
        assert isinstance(row["overridden"], bool)
        assert row["last_verify"] is None or set(row["last_verify"]) == LAST_VERIFY_KEYS
    by_id = {row["id"]: row for row in rows}
    assert by_id["WP-0005"]["state"] == "booked" and by_id["WP-0005"]["assignee"] is None
    assert by_id["WP-0001"]["title"] == "Fix off-by-one in pagination helper"
    assert by_id["WP-0001"]["assignee"] == "agent:implementer-1"


def test_status_of_one_wp(demo: Path, cli: Cli) -> None:
    listed = {row["id"]: row for row in cli("status", "--json", "-w", str(demo)).json()}
    result = cli("status", "WP-0001", "--json", "--workspace", str(demo))
    assert result.code == 0, result.err
    detail = result.json()
    assert isinstance(detail, dict)
    assert set(detail) >= STATUS_KEYS
    assert {key: detail[key] for key in STATUS_KEYS} == listed["WP-0001"]


def test_status_of_an_unknown_wp_exits_2_with_one_line(demo: Path, cli: Cli) -> None:
    result = cli("status", "WP-4242", "--json", "--workspace", str(demo))
    assert result.code == 2
    assert "WP-4242" in one_line(result.err)


# -- (c) workspace resolution --------------------------------------------------------------------


def _ids(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [row["id"] for row in json.loads(proc.stdout)]


@pytest.fixture(scope="module")
def empty_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second workspace with no work packages, to tell the two apart."""
    root = tmp_path_factory.mktemp("cli-empty") / "empty"
    init_workspace(root)
    return root


def test_workspace_option_before_and_after_the_subcommand(demo: Path, tmp_path: Path) -> None:
    assert _ids(cockpit("--workspace", str(demo), "status", "--json", cwd=tmp_path)) == DEMO_WPS
    assert _ids(cockpit("status", "--json", "--workspace", str(demo), cwd=tmp_path)) == DEMO_WPS
    assert _ids(cockpit("-w", str(demo), "status", "--json", cwd=tmp_path)) == DEMO_WPS


def test_relative_workspace_option_is_relative_to_the_cwd(demo: Path) -> None:
    proc = cockpit("status", "--json", "--workspace", demo.name, cwd=demo.parent)
    assert _ids(proc) == DEMO_WPS


def test_cockpit_workspace_variable(demo: Path, empty_ws: Path, tmp_path: Path) -> None:
    env = clean_env(COCKPIT_WORKSPACE=str(demo))
    assert _ids(cockpit("status", "--json", cwd=tmp_path, env=env)) == DEMO_WPS
    # --workspace wins over the variable.
    proc = cockpit("status", "--json", "--workspace", str(empty_ws), cwd=tmp_path, env=env)
    assert _ids(proc) == []


def test_workspace_in_the_cwd(demo: Path, empty_ws: Path, tmp_path: Path) -> None:
    init_workspace(tmp_path / "workspace", demo=True)
    with Workspace.load(tmp_path / "workspace").open_store() as store:
        run_once(Workspace.load(tmp_path / "workspace"), store)
    assert _ids(cockpit("status", "--json", cwd=tmp_path)) == DEMO_WPS
    # The variable wins over ./workspace.
    env = clean_env(COCKPIT_WORKSPACE=str(empty_ws))
    assert _ids(cockpit("status", "--json", cwd=tmp_path, env=env)) == []


@pytest.mark.parametrize("how", ["option", "variable", "cwd"])
def test_no_cockpit_yaml_exits_2_naming_the_directory(tmp_path: Path, how: str) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    if how == "option":
        proc = cockpit("status", "--json", "--workspace", str(bare), cwd=tmp_path)
        named = bare
    elif how == "variable":
        proc = cockpit("status", cwd=tmp_path, env=clean_env(COCKPIT_WORKSPACE=str(bare)))
        named = bare
    else:
        (tmp_path / "workspace").mkdir()  # there, but without a cockpit.yaml
        proc = cockpit("status", cwd=tmp_path)
        named = tmp_path / "workspace"
    assert proc.returncode == 2
    stdout_is_json_or_empty(proc.stdout)
    line = one_line(proc.stderr)
    assert str(named.resolve()) in line
    assert "cockpit init" in line
    assert "Traceback" not in proc.stderr


# -- (d) bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["bogus"],
        ["status", "--bogus"],
        ["run", "--once", "--mode", "bogus"],
        ["audit", "bogus"],
        ["audit"],  # a command group without its command
        ["status", "WP-0001", "WP-0002"],
        ["dispatch", "WP-0005"],  # --to is required
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_arguments_exit_2_with_one_line(demo: Path, cli: Cli, args: list[str]) -> None:
    result = cli(*args, "--workspace", str(demo))
    assert result.code == 2
    assert result.out == ""
    one_line(result.err)


def test_a_group_without_its_command_names_the_commands(demo: Path) -> None:
    proc = cockpit("audit", "--workspace", str(demo))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == (
        "cockpit: cockpit audit needs a command: checkpoint, log or verify (see --help)."
    )


def test_bad_mode_names_the_choices(demo: Path) -> None:
    proc = cockpit("run", "--once", "--mode", "bogus", "--workspace", str(demo))
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "bogus" in line and "dry-run" in line


# -- (e) config validation -------------------------------------------------------------------------

SPEC_CONFIG = """\
schema: cockpit.config/v1
tenant: demo
operator: human:owner
principals:
  human:owner:        {roles: [owner]}
  human:reviewer:     {roles: [reviewer]}
  agent:implementer-1: {roles: [worker], lanes: [implementation]}
  agent:verifier:     {roles: [verifier]}
roles:
  owner:    [book, dispatch, review, verify, override, recover, rollback, cancel, commission,
             veto, dismiss_advisory]
  reviewer: [review, commission, veto, dismiss_advisory]
  verifier: [verify]
  worker:   [confirm_scope, claim, evidence, recover, candidate]
lanes:
  implementation:
    command: ["python", "agents/scripted_agent.py"]
    timeout_s: 600
tiers:
  light:    {evidence_floor: source_trace}
  standard: {evidence_floor: local_command_proof}
  deep:     {evidence_floor: runtime_proof, require_diagnostic_review: true,
             require_rollback_plan: true}
policy:
  version: 1
  failed_on: [scope_respected, validation_passed]
  canon: {min_evaluator_score: 0.5, separation_of_duties: true}
runner:
  mode: live
  canary_labels: [canary]
  verifier: agent:verifier
"""  # SPEC 2.1's example (long flow lists folded)


def _config_ws(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "cockpit.yaml").write_text(text, encoding="utf-8")
    return root


def test_the_spec_example_config_is_valid(tmp_path: Path, cli: Cli) -> None:
    root = _config_ws(tmp_path / "ws", SPEC_CONFIG)
    result = cli("status", "--json", "--workspace", str(root))
    assert result.code == 0, result.err
    assert result.json() == []


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("tenant: demo\n", "tenant: demo\ncolour: blue\n", "colour"),
        (
            "human:owner:        {roles: [owner]}",
            "human:owner:        {roles: [owner], rolez: [owner]}",
            "rolez",
        ),
        ("verifier: [verify]", "verifier: [verify, teleport]", "roles.verifier"),
        ("mode: live", "mode: turbo", "runner.mode"),
        ("{roles: [verifier]}", "{roles: [verifier, janitor]}", "janitor"),
        ("  version: 1\n", "  version: 1\n  failed_onn: []\n", "failed_onn"),
        ("  canary_labels: [canary]\n", "  canary_labels: [canary]\n  verfier: x\n", "verfier"),
        (
            "standard: {evidence_floor: local_command_proof}",
            "standard: {evidence_floor: local_command_proof, floor: x}",
            "floor",
        ),
    ],
    ids=[
        "top-level",
        "in-principal",
        "unknown-capability",
        "runner-mode",
        "undeclared-role",
        "in-policy",
        "in-runner",
        "in-tier",
    ],
)
def test_invalid_config_exits_2_naming_the_key(
    tmp_path: Path, cli: Cli, old: str, new: str, key: str
) -> None:
    assert SPEC_CONFIG.count(old) == 1
    root = _config_ws(tmp_path / "ws", SPEC_CONFIG.replace(old, new))
    result = cli("status", "--json", "--workspace", str(root))
    assert result.code == 2
    stdout_is_json_or_empty(result.out)
    assert key in one_line(result.err)
    plain = cli("status", "--workspace", str(root))
    assert plain.code == 2 and plain.out == ""
    assert key in one_line(plain.err)


def test_nothing_runs_on_an_invalid_config(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "ws"
    init_workspace(root, demo=True)
    config = root / "cockpit.yaml"
    config.write_text(config.read_text() + "surprise: true\n")
    before = tree_digest(root)
    result = cli("run", "--once", "--json", "--workspace", str(root))
    assert result.code == 2
    assert "surprise" in one_line(result.err)
    assert tree_digest(root) == before
    assert not (root / ".cockpit" / "cockpit.db").exists()


# -- (f) init and the demo walkthrough -------------------------------------------------------------


def test_init_twice_exits_2(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "ws"
    first = cli("init", str(target))
    assert first.code == 0, first.err
    assert (target / "cockpit.yaml").is_file()
    config = (target / "cockpit.yaml").read_bytes()
    again = cli("init", str(target))
    assert again.code == 2
    assert str(target) in one_line(again.err)
    demo_over = cli("init", "--demo", str(target))
    assert demo_over.code == 2
    one_line(demo_over.err)
    assert (target / "cockpit.yaml").read_bytes() == config


def test_init_creates_the_spec_layout(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "ws"
    assert cli("init", str(target)).code == 0
    for name in ("tmp", "new", "cur", "done", "rejected"):
        assert (target / "queue" / name).is_dir()
    assert cli("status", "--json", "--workspace", str(target)).json() == []


def test_demo_walkthrough(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "demo"
    assert cli("init", "--demo", str(target)).code == 0
    run = cli("run", "--once", "--json", "--workspace", str(target))
    assert run.code == 0, run.err
    summary = run.json()
    # 26 entries of the walkthrough, plus the 4 the scripted agent returned for WP-0006
    # (its scope confirmation, then common ground, evidence and a claim).
    assert summary["ingested"] == 30
    assert summary["rejected"] == 2
    assert summary["duplicates"] == 0
    assert summary["agents"] == {
        "started": 2,
        "exited": 2,
        "timed_out": 0,
        "failed": 0,
        "worktrees": 1,
    }

    rejected = cli("rejected", "--json", "--workspace", str(target))
    assert rejected.code == 0
    rows = rejected.json()
    assert sorted(row["code"] for row in rows) == ["capability_denied", "path_escape"]
    for row in rows:
        assert {"file", "entry_id", "code", "message"} <= set(row)
        reason = json.loads(
            (target / "queue" / "rejected" / f"{row['file']}.reason.json").read_text()
        )
        assert reason == {
            "code": row["code"],
            "message": row["message"],
            "entry_id": row["entry_id"],
        }
    done = list((target / "queue" / "done").iterdir())
    entries = [p for p in done if not p.name.endswith(".sig")]
    assert len(entries) == 30
    # The demo runs signed: every entry, the walkthrough's and the agent's, has its NAME.sig.
    assert sorted(p.name for p in done if p.name.endswith(".sig")) == sorted(
        f"{p.name}.sig" for p in entries
    )
    assert list((target / "queue" / "new").iterdir()) == []
    verified = cli("audit", "verify", "--json", "-w", str(target)).json()
    assert verified["ok"] is True
    assert verified["signatures"]["unsigned"] == 0 and verified["signatures"]["bad"] == 0

    states = {row["id"]: row["state"] for row in cli("status", "--json", "-w", str(target)).json()}
    assert sorted(states) == DEMO_WPS
    values = set(states.values())
    # SPEC 8: at least one accepted or complete, one blocked, others at earlier stages.
    assert values & {"accepted", "complete"}, states
    assert "blocked" in values, states
    assert {"in_progress", "dispatched", "booked"} <= values, states

    # WP-0006 went from booked to accepted through a real worktree, by the scripted agent.
    assert states["WP-0006"] == "accepted"
    log = cli("audit", "log", "WP-0006", "--json", "-w", str(target)).json()
    moves = [e["payload"]["transition"]["to"] for e in log if "transition" in e["payload"]]
    assert moves == [
        "booked",
        "dispatched",
        "scope_confirmed",
        "in_progress",
        "claimed",
        "verifying",
        "accepted",
    ]
    [verdict] = [e["payload"] for e in log if e["type"] == "verify_completed"]
    assert verdict["changed_files"] == ["checks/check_greet.py", "greet.py"]
    assert verdict["validation"][0]["exit_code"] == 0
    worktree = target / "worktrees" / "WP-0006"
    assert "def farewell" in (worktree / "greet.py").read_text()
    project = target / "project"
    assert "farewell" not in (project / "greet.py").read_text(), "the target checkout is untouched"
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert status.stdout == ""

    # A second run finds nothing new.
    again = cli("run", "--once", "--json", "--workspace", str(target)).json()
    assert (again["ingested"], again["rejected"]) == (0, 0)


# -- (g) the bundled workspace is the demo (one copy: tests/test_demo_source.py) ---------


def test_init_demo_reproduces_the_bundled_workspace(tmp_path: Path, cli: Cli) -> None:
    assert cli("init", "--demo", str(tmp_path / "d")).code == 0
    made, bundled = relative_files(tmp_path / "d"), relative_files(REPO / "workspace")
    # The copy is a workspace to work in, not the template the checkout keeps.
    assert bundled.pop(".cockpit-template") and ".cockpit-template" not in made
    signed = {n for n in bundled if n == "cockpit.yaml" or n.startswith("queue/new/")}
    # Everything but the config and the queued entries is the bundled walkthrough as it is;
    # those are made signed (SPEC 10.1): each entry has its NAME.sig, by its principal's key.
    assert {n: made[n] for n in bundled if n not in signed} == {
        n: bundled[n] for n in bundled if n not in signed
    }
    assert set(made) == set(bundled) | {f"{n}.sig" for n in signed if n != "cockpit.yaml"}
    config = load_config(tmp_path / "d" / "cockpit.yaml")
    assert config.signatures_required and config.workspace and config.runner.key
    for name in sorted(signed - {"cockpit.yaml"}):
        parsed = parse_entry(made[name], name)
        assert parsed.entry.workspace == config.workspace and parsed.entry.tenant == "demo"
        signature = sshsig.parse(made[f"{name}.sig"])
        sshsig.verify(signature, made[name], "cockpit-entry")
        assert signature.key.blob in {k.blob for k in config.keys_of(parsed.entry.principal)}
    assert (tmp_path / "d.keys" / "human_owner").is_file()  # beside it, not inside
    # ... and makes the demo's target repo a git repository with the same one commit.
    log = subprocess.run(
        ["git", "log", "--format=%H %s"],
        cwd=tmp_path / "d" / "project",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert log.stdout == "50d2b35998f6497bc6a8cf125d98c50231981c85 The demo project\n"


# -- (h) dry run changes nothing ------------------------------------------------------------


def _watched(root: Path) -> dict[str, str]:
    return tree_digest(root / "queue", root / ".cockpit" / "cockpit.db")


def test_dry_run_on_the_fresh_demo_changes_nothing(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "demo"
    init_workspace(root, demo=True).open_store().close()  # the db exists now
    before = _watched(root)
    queued = sorted(p.name for p in (root / "queue" / "new").iterdir())
    assert len(queued) == 28 and (root / ".cockpit" / "cockpit.db").is_file()

    result = cli("run", "--once", "--mode", "dry-run", "--workspace", str(root))
    assert result.code == 0, result.err
    assert _watched(root) == before
    for name in queued:
        assert name in result.out, f"the plan mentions {name}"
    assert "50-WP-0099.yaml" in result.out and "capability_denied" in result.out

    plan = cli("run", "--once", "--mode", "dry-run", "--json", "--workspace", str(root))
    summary = plan.json()
    assert summary["mode"] == "dry-run"
    assert (summary["ingested"], summary["rejected"]) == (26, 2), "what a live run would do"
    assert {"work_package": "WP-0006", "would": "make its worktree"} in summary["plan"]
    assert not (root / "worktrees").exists() and not (root / "handoffs").exists()
    assert _watched(root) == before
    with sqlite3.connect(root / ".cockpit" / "cockpit.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert cli("status", "--json", "--workspace", str(root)).json() == []


def test_dry_run_after_a_live_run_changes_nothing(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "demo"
    init_workspace(root, demo=True)
    assert cli("run", "--once", "--workspace", str(root)).code == 0
    # One more entry waiting: a dispatch of the booked WP-0005.
    entry = (
        "schema: cockpit.entry/v1\nkind: dispatch\nid: DSP-0005\nwork_package: WP-0005\n"
        "principal: human:owner\ncreated: 2026-11-21T11:00:00Z\n"
        "body:\n  to: agent:implementer-1\n"
    )
    path = root / "queue" / "new" / "60-DSP-0005.yaml"
    path.write_text(entry)
    os.utime(path, (path.stat().st_mtime - 10,) * 2)
    events_before = cli("audit", "log", "--json", "--workspace", str(root)).json()
    before = _watched(root)
    result = cli("run", "--once", "--mode", "dry-run", "--workspace", str(root))
    assert result.code == 0, result.err
    assert "60-DSP-0005.yaml" in result.out
    assert _watched(root) == before
    assert cli("audit", "log", "--json", "--workspace", str(root)).json() == events_before
    state = cli("status", "WP-0005", "--json", "--workspace", str(root)).json()["state"]
    assert state == "booked"


# -- (i) audit log of one WP ------------------------------------------------------------


def test_audit_log_of_one_wp(demo: Path, cli: Cli) -> None:
    result = cli("audit", "log", "WP-0001", "--json", "--workspace", str(demo))
    assert result.code == 0, result.err
    events = result.json()
    with sqlite3.connect(demo / ".cockpit" / "cockpit.db") as conn:
        expected = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM events WHERE work_package = 'WP-0001' ORDER BY seq"
            )
        ]
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert len(expected) >= 7 and total > len(expected)
    assert [e["seq"] for e in events] == expected
    assert all(e["work_package"] == "WP-0001" for e in events)
    for event in events:
        assert set(event) >= set(SPEC_EVENT_FIELDS)
        assert isinstance(event["payload"], dict)
    assert events[0]["type"] == "task_created" and events[0]["parent_seq"] is None
    for earlier, later in itertools.pairwise(events):
        assert later["parent_seq"] == earlier["seq"]


def test_audit_log_of_everything_is_in_seq_order(demo: Path, cli: Cli) -> None:
    events = cli("audit", "log", "--json", "--workspace", str(demo)).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["work_package"] for e in events} >= set(DEMO_WPS)


def test_audit_log_of_an_unknown_wp_exits_2(demo: Path, cli: Cli) -> None:
    result = cli("audit", "log", "WP-4242", "--json", "--workspace", str(demo))
    assert result.code == 2
    assert "WP-4242" in one_line(result.err)
