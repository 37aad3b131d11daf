"""Every `--json` document the reference describes (docs/reference/cli.md) is held against
what the command really prints, on a real workspace that went through the bundled demo
(`cockpit init --demo`, `cockpit run --once`) and then through every action: each
described key is there with its type, and no key is printed that the reference does not
name. Every event the workspace recorded is held against its payload table
(docs/reference/event-types.md) the same way."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli import main as cli_main
from cockpit.engine.config.model import load_config
from cockpit.engine.runner.monitor import Monitor
from cockpit.engine.trust import record
from cockpit.engine.workspace.layout import Workspace
from cockpit.reference import documents
from cockpit.reference import event_payloads as events
from cockpit.reference.shapes import problems

REGENERATE = ".venv/bin/python -m cockpit.reference"


@dataclass
class Printed:
    args: list[str]
    code: int
    document: Any


@dataclass
class Run:
    """Everything the workspace's commands printed with --json, by described document."""

    root: Path
    printed: dict[tuple[str, str], list[Printed]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def cockpit(self, *args: str, doc: tuple[str, str] | None = None, code: int = 0) -> Any:
        """`cockpit ARGS --json --workspace ROOT` in this process; its document, kept under
        `doc` (default: the command, in its one form)."""
        argv = [*args, "--json", "--workspace", str(self.root)]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli_main(argv)
                status = 0
            except SystemExit as exc:
                status = int(exc.code or 0)
        assert status == code, f"cockpit {' '.join(argv)} exited {status}: {err.getvalue()}"
        document = json.loads(out.getvalue())
        if doc is not None:
            self.printed.setdefault(doc, []).append(Printed(argv, status, document))
        return document


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("shapes")
    root = base / "demo"
    with pytest.MonkeyPatch.context() as env:
        for name in ("COCKPIT_PRINCIPAL", "COCKPIT_WORKSPACE", "COCKPIT_SIGNING_KEY"):
            env.delenv(name, raising=False)
        env.chdir(base)
        with contextlib.redirect_stdout(io.StringIO()):
            with contextlib.suppress(SystemExit):
                cli_main(["init", str(root), "--demo"])
        r = Run(root)
        _walk_through(r, base)
    return r


def _monitor_a_day_on(root: Path) -> dict[str, str]:
    """The progress monitor's scan a day from now, as the runner makes it (signed): every
    open WP stalled. Their flags' ids, by WP."""
    ws = Workspace.load(root)
    later = datetime.now(UTC) + timedelta(days=1)
    with ws.open_store() as store:
        record.attach(ws, store)
        flagged = Monitor(ws, store, clock=lambda: later).scan()
    return {str(e.work_package): e.payload["flag"] for e in flagged}


def _add_setup_script(root: Path) -> None:
    """`worktrees.setup` in the demo's config and its script committed in the project."""
    project = root / "project"
    (project / "scripts").mkdir(exist_ok=True)
    (project / "scripts" / "setup.sh").write_text("echo ready\n")  # the worktree is read-only to it
    identity = ["-c", "user.name=Owner", "-c", "user.email=owner@example.invalid"]
    for args in (["add", "scripts/setup.sh"], [*identity, "commit", "-q", "-m", "setup"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    with (root / "cockpit.yaml").open("a") as config:
        config.write("worktrees:\n  setup: [sh, scripts/setup.sh]\n")


def _deliver(r: Run, wp: str) -> None:
    """Delivery (SPEC 11.3): the procedure-booked WP, admitted by the gate, accepted by the
    owner and merged into the demo project's main; delivered once; its attestation."""
    r.cockpit("review", wp, "--verdict", "accepted", doc=("review", ""))
    r.cockpit("deliver", wp, "--plan", doc=("deliver", "with --plan"))
    r.cockpit("deliver", wp, "--via", "merge", doc=("deliver", "without --plan"))
    r.cockpit("deliver", wp, doc=("", ""), code=1)  # delivered once: delivery_refused
    r.cockpit("status", wp, doc=("status", "with WP"))
    attestation = r.root / ".cockpit" / "attestations" / f"{wp}.intoto.json"
    r.cockpit("attest", "verify", str(attestation), doc=("attest verify", ""))


def _comment_on_the_change(r: Run, wp: str) -> None:
    """The change under review (SPEC 11.1) and a review commenting on one of its lines
    (SPEC 11.2): the WP the gate admitted, before its rejection."""
    change = r.cockpit("diff", wp, doc=("diff", ""))
    path, line = next(
        (f["path"], shown["new_line"])
        for f in change["files"]
        for hunk in f["hunks"]
        for shown in hunk["lines"]
        if shown["kind"] == "+"
    )
    comment = f"{path}:{line}:say why"
    r.cockpit("review", wp, "--verdict", "diagnostic", "--comment", comment, doc=("review", ""))


def _walk_through(r: Run, base: Path) -> None:
    """The demo, then every read command and every action on it."""
    r.cockpit("run", "--once", doc=("run", "with --once"))
    r.cockpit("status", doc=("status", "without WP"))
    for wp in ("WP-0002", "WP-0005", "WP-0006"):  # blocked; booked; with worktree and agent
        r.cockpit("status", wp, doc=("status", "with WP"))
    for read in ("rejected", "replay", "metrics", "candidates", "canon"):
        r.cockpit(read, doc=(read, ""))
    r.cockpit("audit", "verify", doc=("audit verify", ""))
    r.cockpit("lineage", "WP-0002", doc=("lineage", ""))
    for wp in ("WP-0001", "WP-0002", "WP-0006"):  # admitted; blocked; agent runs
        r.cockpit("report", wp, doc=("report", ""))
    r.cockpit("simulate", "--tasks", "6", "--agents", "2", "--seed", "1", doc=("simulate", ""))
    r.cockpit("keys", "list", doc=("keys list", ""))
    r.cockpit("logs", "WP-0006", doc=("logs", ""))
    r.cockpit("status", "WP-4242", doc=("", ""), code=2)  # the error document

    workspace_id = load_config(r.root / "cockpit.yaml").workspace
    good, bad = base / "veto.yaml", base / "bad.yaml"
    entry = (
        "schema: cockpit.entry/v1\nkind: veto\nid: VETO-0009\nwork_package: WP-0005\n"
        f"principal: human:owner\ntenant: demo\nworkspace: {workspace_id}\n"
        "created: 2026-12-01T10:00:00Z\nbody: {reason: hold it}\n"
    )
    good.write_text(entry)
    bad.write_text(entry.replace("VETO-0009", "VETO-0010").replace("reason:", "reasons:"))
    r.cockpit("submit", "--sign", str(good), doc=("submit", ""))
    r.cockpit("submit", "--sign", str(bad), doc=("submit", ""), code=2)
    packed = ("--procedure", "docs-change", "--title", "Document it", "--target-repo", "project")
    booked = r.cockpit("book", *packed, "--to", "agent:scripted", doc=("book", ""))
    deep = ("-t", "Deep", "--objective", "o", "--lane", "scripted", "--tier", "deep")
    r.cockpit("book", *deep, doc=("book", ""), code=2)  # refused: no rollback plan
    r.cockpit("run", "--once", doc=("run", "with --once"))
    r.cockpit("run", "--once", "--mode", "dry-run", doc=("run", "with --once"))

    actions = [
        ("veto", "WP-0005", "--lift", "--reason", "go on"),
        ("dispatch", "WP-0005", "--to", "agent:implementer-1"),
        ("recover", "WP-0002", "--owner", "agent:implementer-2", "--next-action", "ask"),
        ("dismiss", "WP-0002", "ADV-CLM-0002", "--reason", "answered by the owner"),
        ("veto", "WP-0003", "--reason", "hold"),
        ("dismiss", "WP-0004", _monitor_a_day_on(r.root)["WP-0004"], "--reason", "on hold"),
        ("cancel", "WP-0004", "--reason", "not needed"),
        ("review", "WP-0001", "--verdict", "accepted"),
        ("review", "WP-0006", "--verdict", "rejected", "--finding", "wrong greeting"),
        ("rollback", "WP-0006", "--reason", "undo the greeting"),
        ("override", "WP-0003", "--to", "claimed", "--reason", "check the gate"),
    ]
    _comment_on_the_change(r, "WP-0006")
    for args in actions:
        r.cockpit(*args, doc=(args[0], ""))
    _deliver(r, booked["work_package"])
    # Worktree housekeeping (SPEC 11.4): a setup script to approve; WP-0006, rolled back,
    # is finished and pruned.
    _add_setup_script(r.root)
    r.cockpit("worktrees", "approve-setup", doc=("worktrees approve-setup", ""))
    r.cockpit("worktrees", doc=("worktrees", ""))
    r.cockpit("worktrees", "prune", "--dry-run", doc=("worktrees prune", ""))
    r.cockpit("worktrees", "prune", doc=("worktrees prune", ""))
    r.cockpit("verify", "WP-0003", doc=("verify", ""), code=1)  # withheld: no claim
    r.cockpit("commission", "CAND-0001", "--as", "human:reviewer", doc=("commission", ""))
    r.cockpit("canon", doc=("canon", ""))
    r.cockpit("audit", "checkpoint", doc=("audit checkpoint", ""))
    r.cockpit("audit", "verify", doc=("audit verify", ""))
    r.cockpit("lineage", "WP-0006", doc=("lineage", ""))
    r.cockpit("metrics", doc=("metrics", ""))
    r.cockpit("doctor", doc=("doctor", ""))
    owner_key = r.root.parent / f"{r.root.name}.keys" / "human_owner.pub"
    runner_key = base / "keys" / "runner_ed25519"
    r.cockpit(
        "keys",
        "init",
        "--runner-key",
        str(runner_key),
        "--public-key",
        str(owner_key),
        doc=("keys init", ""),
    )
    r.cockpit("schema", "claim", doc=("schema", ""))
    r.cockpit("schema", doc=("schema", ""))
    r.cockpit("schema", "config", doc=("schema", ""))
    draft = base / "draft.yaml"
    r.cockpit(
        "new", "claim", "WP-0003", "--as", "agent:implementer-1", "-o", str(draft), doc=("new", "")
    )
    r.events = r.cockpit("audit", "log", doc=("audit log", ""))
    r.cockpit("audit", "log", "WP-0006", doc=("audit log", ""))


def _described() -> dict[tuple[str, str], documents.Document]:
    return {(d.command, d.when): d for d in (*documents.DOCUMENTS, documents.ERROR)}


def test_every_json_document_has_the_keys_and_types_the_reference_says(run: Run) -> None:
    found = []
    for where, printed in run.printed.items():
        shape = _described()[where].shape
        for item in printed:
            found += [f"cockpit {' '.join(item.args)}: {p}" for p in problems(item.document, shape)]
    assert not found, (
        "the --json documents differ from docs/reference/cli.md (fix the command, or "
        f"cockpit/reference/documents/ and run `{REGENERATE}`):\n" + "\n".join(found)
    )


def test_every_described_document_was_held_against_real_output(run: Run) -> None:
    unchecked = sorted(set(_described()) - set(run.printed))
    assert not unchecked, f"described documents no command printed here: {unchecked}"
    # Lists held against nothing would prove nothing: each list printed had items.
    for where in (("status", "without WP"), ("rejected", ""), ("audit log", ""), ("canon", "")):
        assert any(item.document for item in run.printed[where]), where


def test_every_event_payload_has_the_keys_its_type_documents(run: Run) -> None:
    found = []
    for event in run.events:
        shape = events.payload_shape(event["type"])
        payload = problems(event["payload"], shape, "payload")
        found += [f"seq {event['seq']} {event['type']}: {p}" for p in payload]
    assert not found, (
        "event payloads differ from docs/reference/event-types.md (fix the engine, or "
        f"cockpit/reference/event_payloads.py and run `{REGENERATE}`):\n" + "\n".join(found)
    )


def test_the_walk_through_recorded_most_event_types(run: Run) -> None:
    seen = {event["type"] for event in run.events}
    # Only failures the demo never meets (a worktree, an agent or a rollback that fails)
    # are left unrecorded; their tables are checked by reading the code that writes them.
    unseen = set(events.EVENTS) - seen
    assert unseen <= {"worktree_failed", "agent_failed", "rollback_failed"}, sorted(unseen)
