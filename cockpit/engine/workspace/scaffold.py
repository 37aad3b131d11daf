"""Creating workspaces: `cockpit init DIR [--demo]`."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from cockpit.engine.config.model import CONFIG_FILE
from cockpit.engine.workspace.layout import PROCEDURES_DIR, TEMPLATE_MARKER, Workspace
from cockpit.errors import ConfigError, InputError

DEFAULT_CONFIG = """\
schema: cockpit.config/v1
workspace: {workspace_id}  # this workspace's id: signed entries name it
tenant: {tenant}
operator: human:owner            # default principal for CLI/TUI actions (--as or $COCKPIT_PRINCIPAL override)
principals:
  human:owner:         {{roles: [owner]}}
  human:reviewer:      {{roles: [reviewer]}}
  agent:implementer-1: {{roles: [worker], lanes: [implementation]}}
  agent:verifier:      {{roles: [verifier]}}
roles:                           # capability bundles
  owner:    [book, dispatch, review, verify, override, recover, rollback, cancel, commission, veto, dismiss_advisory, deliver]
  reviewer: [review, commission, veto, dismiss_advisory]
  verifier: [verify]
  worker:   [confirm_scope, claim, evidence, recover, candidate]
lanes:                           # how the runner launches the agent of a lane (never from an entry)
  implementation:
    # A driver runs your agent CLI headless in the WP's worktree and sandbox, and files
    # its scope confirmation, evidence and claim for it (docs/agents.md, "Agent CLI
    # drivers"): claude-code | codex | gemini | aider.
    # driver: claude-code
    # With a command instead, `cockpit run` starts your own program whenever the agent
    # has the next move (paths of workspace files are the workspace's). With neither,
    # agents run on their own: they read handoffs/<principal>/<WP>.yaml and `cockpit submit`.
    # command: ["python3", "agents/agent.py"]
    timeout_s: 600
tiers:
  light:    {{evidence_floor: source_trace}}
  standard: {{evidence_floor: local_command_proof}}
  deep:     {{evidence_floor: runtime_proof, require_diagnostic_review: true, require_rollback_plan: true}}
policy:
  version: 1
  failed_on: [scope_respected, validation_passed]
  canon: {{min_evaluator_score: 0.5, separation_of_duties: true}}
runner:
  mode: live                     # dry-run | shadow | canary | live
  canary_labels: [canary]
  verifier: agent:verifier
"""

WORKSPACE_GITIGNORE = """\
# Runtime state of a Cockpit workspace
.cockpit/
handoffs/
worktrees/
"""
DEMO_PROJECT = "project"  # the demo's target repo, made a git repository by init
DEMO_DATE = "1795251600 +0000"  # 2026-11-21T09:00:00Z


def demo_source() -> Path:
    """The directory holding the demo workspace's files, wherever this install keeps them.

    The repository has one copy of the demo: the top-level `workspace/`. A
    built wheel carries it as package data, `cockpit/demo/` (pyproject.toml maps
    `workspace` there when hatchling builds the wheel). A source checkout or an editable
    install (`pip install -e .`) runs no such build step, so there the demo is the
    `workspace/` beside the `cockpit` package. Raises ConfigError if neither is there.
    """
    package = Path(str(resources.files("cockpit")))
    for candidate in (package / "demo", package.parent / "workspace"):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise ConfigError(
        f"this Cockpit install has no demo workspace: neither {package / 'demo'} (a wheel's "
        f"package data) nor {package.parent / 'workspace'} (a source checkout) holds a "
        f"{CONFIG_FILE}; reinstall Cockpit from a wheel or a full checkout"
    )


def init_workspace(directory: Path, *, demo: bool = False, tenant: str | None = None) -> Workspace:
    """Create a workspace in `directory` (created if missing) and return it.

    With `demo`, the workspace is the bundled synthetic walkthrough: its config, its
    entries waiting in queue/new/ and its procedure packs. Either way it has `procedures/`. Raises InputError if a workspace is already there.
    """
    directory = directory.resolve()
    if (directory / CONFIG_FILE).exists():
        raise InputError(f"{directory} already holds a workspace ({CONFIG_FILE} exists)")
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    if demo:
        source = demo_source()
        shutil.copytree(source, directory, dirs_exist_ok=True, ignore=_demo_ignore(source))
        make_demo_repo(directory / DEMO_PROJECT)
    else:
        (directory / CONFIG_FILE).write_text(
            DEFAULT_CONFIG.format(tenant=tenant or "default", workspace_id=uuid.uuid4()),
            encoding="utf-8",
        )
        (directory / ".gitignore").write_text(WORKSPACE_GITIGNORE, encoding="utf-8")
    (directory / PROCEDURES_DIR).mkdir(exist_ok=True)  # procedure packs (`cockpit book`)
    ws = Workspace.load(directory)
    ws.ensure_dirs()
    return ws


def make_demo_repo(path: Path) -> str:
    """Make the demo's target repo a git repository with one commit (the same commit on
    every machine); returns its sha."""
    import git

    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Cockpit demo")
        config.set_value("user", "email", "demo@cockpit.invalid")
    files = sorted(
        str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    repo.index.add(files)
    author = git.Actor("Cockpit demo", "demo@cockpit.invalid")
    commit = repo.index.commit(
        "The demo project",
        author=author,
        committer=author,
        author_date=DEMO_DATE,
        commit_date=DEMO_DATE,
    )
    repo.close()
    return str(commit.hexsha)


# What a copy of the demo leaves out: bytecode anywhere, the template's marker (the copy is
# a workspace to work in), and the runtime state (see WORKSPACE_GITIGNORE) a runner of an
# older Cockpit may have left in the checkout's workspace/.
_LEFT_OUT = (".cockpit", "handoffs", "worktrees", TEMPLATE_MARKER)


def _demo_ignore(source: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
        if Path(directory) == source:
            skipped.update(n for n in names if n in _LEFT_OUT)
        return skipped

    return ignore
