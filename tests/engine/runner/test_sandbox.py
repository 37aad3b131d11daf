"""The agent's sandbox (SPEC 10.3), on a real workspace, a real git repository and a real
bubblewrap: a lane command that attacks what is not its own, what the runner does without
bubblewrap, validation commands that try to write, the outbox's refusals and its flood
limit, and the network a sandbox gets.

No mock: "no bubblewrap" is a PATH that does not hold `bwrap` (the runner looks it up on
PATH). Tests never reach the network.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import (
    AGENT_PRELUDE,
    OWNER_HUMAN,
    drop_booking,
    drop_dispatch,
    events_of,
    set_lane,
    set_runner,
    state,
    worktree_of,
    wp_fields,
)
from helpers.gate import OWNER, Flow
from helpers.git import git, new_repo
from helpers.process import time_bound
from helpers.workspace import Env, entry, t

from cockpit.engine.queue import outbox as outboxes

pytestmark = [
    pytest.mark.usefixtures("no_ambient_principal"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

# The attacker: at the verify gate it tries, one by one, what it must not be able to do,
# writes what happened to its private home, then does its legitimate work (a commit in
# its worktree, ground, evidence and claim through `cockpit submit`, i.e. its outbox).
ATTACKER = (
    AGENT_PRELUDE
    + """\
TARGETS = json.loads(__TARGETS__)


def attempt(action):
    try:
        action()
    except OSError as exc:
        return f"refused: {exc.__class__.__name__} {exc.strerror}"
    return "succeeded"


def write(path, text):
    def act():
        with open(path, "a") as out:
            out.write(text)
    return act


def read(path):
    def act():
        with open(path) as handle:
            handle.read()
    return act


def forged(handoff, entry_id, principal, kind, body):
    return yaml.safe_dump({
        "schema": "cockpit.entry/v1", "kind": kind, "id": entry_id,
        "work_package": handoff["work_package"]["id"], "principal": principal,
        "created": stamp(datetime.now(UTC)), "body": body,
    })


def main():
    handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
    wp = handoff["work_package"]
    now = datetime.now(UTC).replace(microsecond=0)
    if wp["id"] != "WP-1":
        return
    if handoff["next_gate"] == "scope_confirmation":
        body = {"confirmed": True, "notes": "in scope"}
        submit([entry_text(handoff, "scope_confirmation", "SCP-WP-1", now, body)])
        return
    review = forged(handoff, "REV-FORGED", "human:owner", "review", {"verdict": "accepted"})
    results = {
        "store": attempt(write(TARGETS["db"], "x")),
        "config": attempt(write(TARGETS["config"], "x")),
        "other_worktree": attempt(write(TARGETS["other_worktree"], "x")),
        "queue_new": attempt(write(TARGETS["queue_new"], review)),
        "runner_key": attempt(read(TARGETS["runner_key"])),
        "shared_git_dir": attempt(write(TARGETS["shared_git_config"], "[core]\\n")),
        "other_handoff": attempt(read(TARGETS["other_handoff"])),
        "real_home": attempt(read(TARGETS["real_home_file"])),
    }
    # Through its own outbox, an entry in the owner's name: the runner refuses it.
    outbox = Path(os.environ["COCKPIT_OUTBOX"])
    (outbox / "new" / "forged.yaml").write_text(
        forged(handoff, "REV-FORGED-2", "human:owner", "review", {"verdict": "accepted"})
    )
    results["visible_pid_1"] = Path("/proc/1/cmdline").read_bytes().decode(errors="replace")
    Path(os.environ["HOME"], "attacks.json").write_text(json.dumps(results))
    # The legitimate work.
    Path("src/app.py").write_text("print('changed')\\n")
    identity = ["-c", "user.name=Agent", "-c", "user.email=agent@example.invalid"]
    subprocess.run(["git", *identity, "commit", "-qam", "the change"], check=True)
    ground = entry_text(handoff, "common_ground", "CG-WP-1", now,
        {"version": 1, "objective": wp["objective"], "success_criteria": ["it works"]})
    item = {"class": "local_command_proof", "ref": "src/app.py",
        "sha256": hashlib.sha256(Path("src/app.py").read_bytes()).hexdigest(),
        "command": "true", "exit_code": 0, "log": "ok"}
    evidence = entry_text(handoff, "evidence", "EVD-WP-1", now + timedelta(seconds=1),
        {"items": [item], "missing": [], "quality": "test agent"})
    claim = entry_text(handoff, "claim", "CLM-WP-1", now + timedelta(seconds=2), {
        "done_state": "done",
        "common_ground": {"id": "CG-WP-1", "version": 1,
            "hash": hashlib.sha256(ground.encode()).hexdigest()},
        "evidence": ["EVD-WP-1"], "owner": wp["owner"], "accountable": wp["accountable"],
        "unresolved_questions": [], "summary": "changed the app"})
    submit([ground, evidence, claim])


main()
"""
)

# A small agent: writes RECORD-less facts to its home, or floods its outbox.
SMALL = (
    AGENT_PRELUDE
    + """\
PLAN = json.loads(__PLAN__)


def main():
    handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
    outbox = Path(os.environ["COCKPIT_OUTBOX"]) / "new"
    for n in range(PLAN.get("flood", 0)):
        text = entry_text(handoff, "scope_confirmation", f"SCP-{n}",
            datetime.now(UTC), {"confirmed": True, "notes": str(n)})
        # Signed with the run's key (SPEC 10.2), as `cockpit submit` would sign it.
        sig = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-n", "cockpit-entry", "-f",
             os.environ["COCKPIT_SIGNING_KEY"]],
            input=text.encode(), capture_output=True,
        ).stdout
        (outbox / f"{n}.yaml.sig").write_bytes(sig)
        (outbox / f"{n}.yaml").write_text(text)
    facts = {"home": os.environ.get("HOME"), "outbox": str(outbox)}
    for port in PLAN.get("ports", []):
        for host in ("127.0.0.1", "10.0.2.2", "169.254.169.254"):
            import socket
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect((host, port))
                facts[f"{host}:{port}"] = "connected"
            except OSError as exc:
                facts[f"{host}:{port}"] = f"refused: {exc}"
            finally:
                s.close()
    facts["interfaces"] = Path("/proc/net/dev").read_text()
    Path(os.environ["HOME"], "facts.json").write_text(json.dumps(facts))
    time.sleep(PLAN.get("sleep", 0))


main()
"""
)


def install(env: Env, name: str, script: str, **replace: Any) -> None:
    for key, value in replace.items():
        script = script.replace(f"__{key}__", repr(json.dumps(value)))
    (env.root / "agents").mkdir(exist_ok=True)
    (env.root / "agents" / name).write_text(script, encoding="utf-8")
    set_lane(env, ["python3", f"agents/{name}"], timeout_s=60, standing_go=True)


def runner_key(tmp_path: Path) -> Path:
    """A real Ed25519 key outside the workspace (as runner.key would name it)."""
    keys = tmp_path / "keys"
    keys.mkdir()
    key = keys / "runner_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    return key


def home_of(env: Env, wp: str = "WP-1") -> Path:
    return env.root / ".cockpit" / "agent-home" / wp


def no_bwrap_path(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only `tools` (symlinks to the real ones): no bwrap on it."""
    bindir = tmp_path / "bin-without-bwrap"
    bindir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None
        (bindir / tool).symlink_to(found)
    return str(bindir)


# -- the attacker ---------------------------------------------------------------------------


def test_a_sandboxed_agent_cannot_touch_what_is_not_its_own_and_its_work_is_admitted(
    env: Env, tmp_path: Path
) -> None:
    """Writing the store, the config, another WP's worktree, queue/new as human:owner, the
    shared git directory; reading the runner key, another WP's handoff, the real home:
    each fails. The store holds nothing but the run's own events, the forged outbox entry
    is refused, and the agent's commit and claim are admitted (WP-1 reaches accepted)."""
    repo, base = new_repo(tmp_path)
    key = runner_key(tmp_path)
    set_runner(env, sandbox="required", sandbox_network=False, key=str(key))
    # WP-2 first, with its worktree and handoff (its agent does nothing).
    targets = {
        "db": str(env.root / ".cockpit" / "cockpit.db"),
        "config": str(env.root / "cockpit.yaml"),
        "other_worktree": str(worktree_of(env, "WP-2") / "src" / "app.py"),
        "queue_new": str(env.root / "queue" / "new" / "forged.yaml"),
        "runner_key": str(key),
        "shared_git_config": str(repo / ".git" / "config"),
        "other_handoff": str(env.root / "handoffs" / OWNER / "WP-2.yaml"),
        "real_home_file": str(Path.home() / ".bashrc"),
    }
    install(env, "attacker.py", ATTACKER, TARGETS=targets)
    drop_booking(env, repo, "WP-2")
    drop_dispatch(env, "WP-2")
    env.sweep()
    assert worktree_of(env, "WP-2").is_dir()
    before = {
        "config": (env.root / "cockpit.yaml").read_bytes(),
        "other": (worktree_of(env, "WP-2") / "src" / "app.py").read_bytes(),
        "shared_git_config": (repo / ".git" / "config").read_bytes(),
    }
    seen = {e.seq for e in env.events()}

    drop_booking(env, repo, "WP-1", validation_commands=["grep -q changed src/app.py"])
    drop_dispatch(env, "WP-1", minute=2)
    with time_bound(120, "the attacker's run"):
        summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log

    attacks = json.loads((home_of(env) / "attacks.json").read_text())
    pid_1 = attacks.pop("visible_pid_1")
    # Its own PID namespace: pid 1 is bubblewrap's, not the host's init.
    assert pid_1.split("\0")[0].endswith("bwrap"), pid_1[:80]
    failed = {name: result for name, result in attacks.items() if result != "succeeded"}
    assert failed == attacks, attacks
    assert (env.root / "cockpit.yaml").read_bytes() == before["config"]
    assert (worktree_of(env, "WP-2") / "src" / "app.py").read_bytes() == before["other"]
    assert (repo / ".git" / "config").read_bytes() == before["shared_git_config"]
    assert not (env.root / "queue" / "new" / "forged.yaml").exists()

    # The store: WP-1's booking and dispatch (the owner's, dropped by the test), the
    # standing go, and otherwise only the runner's and the agent's own events.
    new = [e for e in env.events() if e.seq not in seen]
    assert not [e for e in new if e.work_package == "WP-2"]
    assert not [e for e in new if (e.entry_id or "").startswith("REV-FORGED")]
    owner_events = [e for e in new if e.principal == OWNER_HUMAN]
    assert all(
        e.entry_id in ("WP-1", "DSP-WP-1-2") or e.payload.get("standing") for e in owner_events
    ), [(e.type, e.entry_id, e.payload) for e in owner_events]
    agents_entries = {e.entry_id for e in new if e.principal == OWNER and e.entry_id}
    assert agents_entries == {"SCP-WP-1", "CG-WP-1", "EVD-WP-1", "CLM-WP-1"}

    # The forged outbox entry was refused, moved aside with its reason.
    exits = events_of(env, "agent_exited")
    refused = [r for e in exits for r in e.payload["outbox"]["refused"]]
    assert [r["file"] for r in refused] == ["forged.yaml"]
    assert "human:owner" in refused[0]["reason"]
    reasons = list((env.root / "queue" / "rejected").glob("outbox-WP-1-*.reason.json"))
    assert [json.loads(p.read_text())["code"] for p in reasons] == ["outbox_refused"]

    # The legitimate work: committed in the private repository, taken into wp/WP-1.
    started = events_of(env, "agent_started")
    assert {e.payload["sandbox"] for e in started} == {"bubblewrap"}
    assert all(e.payload["network"] == "none" for e in started)
    assert state(env) == "accepted"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["changed_files"] == ["src/app.py"]
    assert git(repo, "rev-parse", "wp/WP-1^") == base
    assert git(repo, "show", "wp/WP-1:src/app.py") == "print('changed')"
    assert not (env.root / ".cockpit" / "agent-git" / "WP-1").exists()


# -- without bubblewrap ---------------------------------------------------------------------


def test_required_without_bubblewrap_refuses_to_start_the_agent(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`runner.sandbox: required` and no bwrap on PATH: `agent_failed` naming the cause,
    and no agent started."""
    set_runner(env, sandbox="required", sandbox_network=False)
    install(env, "small.py", SMALL, PLAN={})
    monkeypatch.setenv("PATH", no_bwrap_path(tmp_path))
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    assert not events_of(env, "agent_started")
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "sandbox_unavailable"
    assert "required" in failed.payload["error"]
    assert "bubblewrap (bwrap) is not installed" in failed.payload["error"]
    assert not home_of(env).joinpath("facts.json").exists()


def test_auto_without_bubblewrap_runs_unsandboxed_and_records_it(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auto` and no bwrap on PATH: the agent runs, `agent_started` records `sandbox:
    none` with a warning naming why."""
    install(env, "small.py", SMALL, PLAN={})
    monkeypatch.setenv("PATH", no_bwrap_path(tmp_path))
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    [started] = events_of(env, "agent_started")
    assert started.payload["sandbox"] == "none"
    assert "UNSANDBOXED" in started.payload["sandbox_warning"]
    assert "bubblewrap (bwrap) is not installed" in started.payload["sandbox_warning"]
    assert events_of(env, "agent_exited")
    # The WP's status (and so its screen) says the run was not confined.
    shown = env.cli("status", "WP-1", "--json").json()
    assert shown["agent"]["sandbox"] == "none"
    assert shown["agent"]["sandbox_weakened"] == []


# -- validation -----------------------------------------------------------------------------


def test_validation_commands_cannot_write_the_worktree(env: Env, tmp_path: Path) -> None:
    """A validation command that writes the worktree fails (read-only file system) and
    the worktree is left as the agent made it; it sees no ssh-agent and a fresh home."""
    repo, _ = new_repo(tmp_path)
    set_runner(env, sandbox="required", sandbox_network=False)
    commands = [
        'test -z "$SSH_AUTH_SOCK" && test ! -e "$HOME/.ssh" && test -w "$HOME"',
        "echo pwned > src/app.py",
    ]
    flow = Flow(env).book(**wp_fields(repo, validation_commands=commands))
    worktree = worktree_of(env)
    (worktree / "src" / "app.py").write_text("print('changed')\n")
    flow.ground()
    flow.evidence()
    flow.claim()
    [verdict] = events_of(env, "verify_completed")
    validation = verdict.payload["predicates"]["validation_passed"]
    assert validation["status"] == "unsatisfied", validation
    assert "echo pwned" in validation["detail"]
    assert (worktree / "src" / "app.py").read_text() == "print('changed')\n"


def test_validation_under_required_without_bubblewrap_is_an_error(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = new_repo(tmp_path)
    set_runner(env, sandbox="required", sandbox_network=False)
    flow = Flow(env).book(**wp_fields(repo, validation_commands=["true"]))
    (worktree_of(env) / "src" / "app.py").write_text("print('changed')\n")
    monkeypatch.setenv("PATH", no_bwrap_path(tmp_path, "git"))
    flow.ground()
    flow.evidence()
    flow.claim()
    [verdict] = events_of(env, "verify_completed")
    validation = verdict.payload["predicates"]["validation_passed"]
    assert validation["status"] == "error", validation
    assert "required" in validation["detail"]


# -- the outbox -----------------------------------------------------------------------------


def scope(wp: str, principal: str, entry_id: str) -> str:
    return entry("scope_confirmation", entry_id, wp, principal, "confirmed: true", created=t(2))


def test_the_outbox_takes_only_single_link_regular_files_naming_its_agent_and_wp(
    env: Env, tmp_path: Path
) -> None:
    """A symlink, a FIFO, a hard-linked file, a file over 1 MiB, an entry naming another
    principal and one naming another WP are refused; the good entry is copied to a name
    the runner chose in queue/new/, beside nothing it replaced."""
    box = outboxes.open_outbox(env.ws, "WP-1", OWNER)
    new = box.path / "new"
    outside = tmp_path / "outside.yaml"
    outside.write_text(scope("WP-1", OWNER, "SCP-LINKED"))
    (new / "symlink.yaml").symlink_to(outside)
    os.mkfifo(new / "fifo.yaml")
    os.link(outside, new / "hardlink.yaml")
    (new / "big.yaml").write_bytes(b"#" * (outboxes.MAX_BYTES + 1))
    (new / "owner.yaml").write_text(scope("WP-1", OWNER_HUMAN, "SCP-OWNER"))
    (new / "other-wp.yaml").write_text(scope("WP-2", OWNER, "SCP-OTHER"))
    (new / "good.yaml").write_text(scope("WP-1", OWNER, "SCP-GOOD"))
    existing = env.new / "outbox-WP-1-SCP-GOOD.yaml"
    existing.write_text("already here\n")
    with time_bound(30, "collecting an outbox holding a FIFO"):
        outboxes.collect(env.ws, box)
    box.close()
    refused = {r["file"]: r["reason"] for r in box.refused}
    assert set(refused) == {
        "symlink.yaml",
        "fifo.yaml",
        "hardlink.yaml",
        "big.yaml",
        "owner.yaml",
        "other-wp.yaml",
    }
    assert "not a regular file" in refused["fifo.yaml"]
    assert "link" in refused["hardlink.yaml"] and "link" in refused["symlink.yaml"]
    assert "larger than" in refused["big.yaml"]
    assert "human:owner" in refused["owner.yaml"] and "WP-2" in refused["other-wp.yaml"]
    [taken] = box.taken
    assert taken["entry_id"] == "SCP-GOOD" and taken["signature"] is None
    assert existing.read_text() == "already here\n"
    placed = env.new / taken["file"]
    assert placed != existing and b"SCP-GOOD" in placed.read_bytes()
    assert outside.read_text().startswith("schema")  # the link's target untouched
    assert sorted(os.listdir(new)) == []


def test_an_agent_flooding_its_outbox_is_stopped_at_outbox_max(env: Env) -> None:
    """Past `outbox_max` entries in one run the agent is stopped: `agent_failed` with
    reason `outbox_flood`; only `outbox_max` entries were taken."""
    set_runner(env, sandbox="required", sandbox_network=False, outbox_max=2)
    install(env, "small.py", SMALL, PLAN={"flood": 6, "sleep": 60})
    drop_booking(env, None)
    drop_dispatch(env)
    with time_bound(60, "the flooding agent"):
        env.sweep()
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "outbox_flood"
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["outbox"]["flooded"] is True
    assert len(exited.payload["outbox"]["taken"]) == 2
    assert exited.payload["timed_out"] is False


# -- the network ----------------------------------------------------------------------------


def test_with_sandbox_network_the_agent_cannot_reach_the_hosts_loopback(env: Env) -> None:
    """`sandbox_network: true`: the sandbox has its own user-mode network (tap0 through
    slirp4netns); a server on the host's 127.0.0.1 is reached neither as 127.0.0.1 nor
    through the gateway 10.0.2.2, and link-local addresses are unreachable. (Nothing
    outside this machine is contacted.)"""
    if shutil.which("slirp4netns") is None:
        pytest.skip("slirp4netns is not installed")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        set_runner(env, sandbox="required", sandbox_network=True)
        install(env, "small.py", SMALL, PLAN={"ports": [port]})
        drop_booking(env, None)
        drop_dispatch(env)
        with time_bound(120, "the networked agent"):
            env.sweep()
    finally:
        server.close()
    [started] = events_of(env, "agent_started")
    assert started.payload["network"] == "slirp4netns"
    facts = json.loads((home_of(env) / "facts.json").read_text())
    assert "tap0" in facts["interfaces"]
    for host in ("127.0.0.1", "10.0.2.2", "169.254.169.254"):
        assert facts[f"{host}:{port}"].startswith("refused"), facts
