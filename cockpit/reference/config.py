"""docs/reference/config.md: every key of cockpit.yaml, from the pydantic model of
`cockpit.engine.config.model`, with the rules checked across keys and an example the
real loader accepts."""

from __future__ import annotations

from dataclasses import replace

from cockpit.domain import Tier
from cockpit.engine.config.model import (
    CONFIG_FILE,
    CONFIG_SCHEMA,
    COSTED_DRIVERS,
    Config,
    parse_config,
)
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.reference.fields import field_rows, table_cells
from cockpit.reference.markdown import banner, code, page, table

SOURCES = (
    "cockpit/engine/config/model.py",
    "cockpit/engine/config/worktrees.py",
    "cockpit/reference/config.py",
)

EXAMPLE = """\
schema: cockpit.config/v1
workspace: 7f3c9e0a-5b1d-4c2e-9a77-3d4f8e2b6c10
tenant: demo
operator: human:owner
principals:
  human:owner:
    roles: [owner]
    keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO6gJ3t+AVUa2kYdtbJ/5M8QozwyoL8PEyPKBMj5+QWg"]
  human:reviewer:      {roles: [reviewer]}
  agent:implementer-1: {roles: [worker], lanes: [implementation]}
  agent:verifier:      {roles: [verifier]}
roles:
  owner:    [book, dispatch, review, verify, override, recover, rollback, cancel, commission,
             veto, dismiss_advisory]
  reviewer: [review, commission, veto, dismiss_advisory]
  verifier: [verify]
  worker:   [confirm_scope, claim, evidence, recover, candidate]
lanes:
  implementation:
    driver: claude-code
    model: claude-sonnet-4-5
    timeout_s: 1800
    max_turns: 40
    budget_usd: 5.00
tiers:
  light:    {evidence_floor: source_trace}
  standard: {evidence_floor: local_command_proof}
  deep:     {evidence_floor: runtime_proof}
policy:
  version: 1
  failed_on: [scope_respected, validation_passed]
  signatures: required
  max_entry_age_s: 86400
  canon: {min_evaluator_score: 0.5, separation_of_duties: true}
runner:
  mode: live
  canary_labels: [canary]
  verifier: agent:verifier
  key: ~/.config/cockpit/runner_ed25519
  sandbox: required
notify:
  command: ["notify-send", "Cockpit"]
"""

# Rules checked outside a field's own type, by key (the model's validators).
RULES = {
    "operator": "one of `principals`",
    "principals": "a name cannot contain `/` or control characters",
    "principals.<name>.roles": "each a role of `roles`",
    "principals.<name>.lanes": "each a lane of `lanes`",
    "principals.<name>.keys": "OpenSSH public keys, Ed25519 at least; a key belongs to one "
    "principal only",
    "tiers": "all three tiers",
    "runner.verifier": "must be set: a principal holding `verify` and not `claim`",
    "lanes.<name>.command": "required with `driver: command`",
    "lanes.<name>.model": "only with an agent CLI driver",
    "lanes.<name>.args": "only with an agent CLI driver",
    "lanes.<name>.max_turns": "only with `driver: claude-code`",
    "lanes.<name>.budget_usd": "only with a driver that reports cost: "
    + ", ".join(f"`{d}`" for d in COSTED_DRIVERS),
    "worktrees.copy": "each a relative path in the target repo: no `..`, `.git` or empty "
    "part, not absolute; none twice",
    "worktrees.setup": "its last argument likewise a relative path in the target repo",
    "worktrees.setup_sha256": "only with `setup`",
}
NOTES = {
    "workspace": "`cockpit init` writes it. Signed entries must name it when signatures "
    "are required.",
    "tenant": "An entry that names a tenant must name this one.",
    "operator": "`--as PRINCIPAL` or `$COCKPIT_PRINCIPAL` choose another.",
    "principals.<name>.lanes": "A dispatch target that names lanes must serve the WP's lane.",
    "principals.<name>.keys": "Written as `ssh-ed25519 AAAA... comment`; `cockpit keys init` "
    "prints the line for a key you have.",
    "lanes.<name>.command": "Relative paths resolve against the workspace. With no driver "
    "and no command, the lane's agents run on their own and submit entries themselves.",
    "lanes.<name>.driver": "`command` (or no driver with a `command`) starts the program; "
    "the others drive that agent CLI headless ([agents.md](../agents.md)).",
    "lanes.<name>.budget_usd": "A WP whose runs reached it is not started again.",
    "lanes.<name>.sandbox_rw": "Each one weakens the sandbox and is shown as such.",
    "lanes.<name>.standing_go": "Recorded at once as a review `go` in the booker's name.",
    "policy.version": "A candidate must name the current version to become canon.",
    "policy.signatures": "`required` or `optional`; see [entries.md](entries.md#signatures).",
    "runner.mode": "`dry-run` changes nothing; `shadow` verifies with outcome `skipped`; "
    "`canary` is live for canary WPs only; `live` does everything.",
    "runner.key": "An OpenSSH Ed25519 private key outside the workspace; `~` is expanded. "
    "It signs the runner's events and checkpoints.",
    "runner.sandbox": "`required` refuses to start an agent without a working bubblewrap; "
    "`auto` runs it unconfined and says so; `off` is the owner's explicit choice.",
    "notify.command": "It gets the event as JSON on stdin, never agent text as arguments.",
    "monitor.stall_after_s": "A WP whose agent is running is left alone (the lane's timeout "
    "bounds it). 0: off.",
    "monitor.loop_after": "`blocked` or `failed` verdicts; flagged again at each multiple. 0: off.",
    "monitor.agent_failures": "Failed, timed out or not started; a run that ends well resets "
    "the count. 0: off.",
    "monitor.light_max_files": "As the gate counted the changed files. 0: off.",
    "worktrees.fetch": "Cockpit never moves a local branch: to start from the remote's "
    "newest commit, book `base_ref: origin/main` ([worktrees.md](../worktrees.md)).",
    "worktrees.setup": "Without an approved hash the agent is not started (`agent_failed`, "
    "`setup_unapproved`).",
    "worktrees.ports_per_wp": "Ports 20000-32767, each checked free by binding it.",
}


def _keys() -> str:
    rows = []
    for row in field_rows(Config, extra_rules=RULES):
        meaning = f"{row.meaning} {NOTES.get(row.path, '')}".strip()
        rows.append(table_cells(replace(row, meaning=meaning)))
    return table(("key", "type", "required / default", "rules", "meaning"), rows)


def _tiers() -> str:
    factory = Config.model_fields["tiers"].default_factory
    defaults = factory() if factory is not None else {}  # type: ignore[call-arg]
    rows = []
    for tier in Tier:
        settings = defaults[tier]
        rows.append(
            (
                f"`{tier.value}`",
                f"`{settings.evidence_floor.value}`",
                str(settings.require_diagnostic_review).lower(),
                str(settings.require_rollback_plan).lower(),
            )
        )
    return table(
        ("tier", "evidence_floor", "require_diagnostic_review", "require_rollback_plan"), rows
    )


def check() -> None:
    """The example must load; raises ConfigError naming the key otherwise."""
    parse_config(load_yaml(EXAMPLE), "the example")


def render() -> str:
    check()
    return page(
        banner("cockpit.yaml", SOURCES),
        f"Every workspace has one `{CONFIG_FILE}` at its root: who may speak and what each "
        "may do, how agents are started, what the gate asks of each tier, and how the runner "
        f"works. `schema` is always `{CONFIG_SCHEMA}`.",
        "It is validated strictly: an unknown key is an error (a typo must never silently "
        "weaken policy), and nothing runs on a config that does not validate. Every command "
        "then stops with one sentence naming the key, and exit code 2. `cockpit init DIR` "
        "writes a commented one; `cockpit schema config` prints its JSON Schema for editors "
        "([editor.md](../editor.md)).",
        "## An example",
        "A signed workspace with one lane driving Claude Code:",
        code(EXAMPLE, "yaml"),
        "## Keys",
        "`<name>` stands for a name you choose: a principal, a role, a lane or a tier.",
        _keys(),
        "## Tiers by default",
        "Without `tiers`, these are the tiers. With it, all three must be there, and a key "
        "a tier leaves out keeps the value below (so `deep: {evidence_floor: runtime_proof}` "
        "still asks for a diagnostic review and a rollback plan).",
        _tiers(),
    )
