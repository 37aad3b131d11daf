"""cockpit.yaml: the workspace's policy, validated strictly (SPEC 2.1).

Unknown keys are errors, because a typo must never silently weaken policy.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cockpit.domain import Capability, EvidenceClass, Mode, Predicate, Tier
from cockpit.engine.config.delivery import DeliveryConfig
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.config.worktrees import WorktreesConfig
from cockpit.engine.entries.safe_yaml import UnsafeYaml, YamlSyntaxError, load_yaml
from cockpit.engine.entries.wording import describe
from cockpit.errors import ConfigError

CONFIG_FILE = "cockpit.yaml"
CONFIG_SCHEMA = "cockpit.config/v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrincipalConfig(_Strict):
    """Someone who may speak in the workspace: a person or an agent."""

    roles: list[str] = Field(description="Names of roles (under `roles`) it holds.")
    lanes: list[str] = Field(
        default_factory=list, description="Lanes it serves (none named: any lane)."
    )
    # OpenSSH public key lines (`ssh-ed25519 AAAA... comment`) whose signatures speak for
    # this principal (SPEC 10.1); a key belongs to one principal only.
    keys: list[str] = Field(
        default_factory=list, description="OpenSSH public key lines it signs with."
    )


# A lane's `driver:` (SPEC 9.1): a real agent CLI the runner drives, or `command` (a
# program that reads its handoff and submits entries itself).
DRIVER_NAMES = ("claude-code", "codex", "gemini", "aider", "command")
# The drivers whose CLI reports what a run cost: only they can keep to a `budget_usd`.
COSTED_DRIVERS = ("claude-code", "aider")


class LaneConfig(_Strict):
    """How the runner starts the agent of a lane."""

    # With `driver: command` (or no driver): the program to start. With a CLI driver: the
    # CLI's executable, when it is not the driver's binary on PATH. None and no driver:
    # the lane's agents run on their own (they read their handoff and submit); the runner
    # writes handoffs and worktrees for them but starts nothing.
    command: list[str] | None = Field(
        default=None, min_length=1, description="The program to start, as a list of words."
    )
    driver: Literal["claude-code", "codex", "gemini", "aider", "command"] | None = Field(
        default=None, description="The agent CLI the runner drives, or `command`."
    )
    model: str | None = Field(default=None, min_length=1, description="Passed to the CLI.")
    args: list[str] = Field(default_factory=list, description="Extra CLI arguments, appended.")
    max_turns: int | None = Field(default=None, gt=0, description="Passed to the CLI.")
    budget_usd: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=12,
        decimal_places=6,
        description="Dollars per WP, over all its runs.",
    )
    timeout_s: int = Field(default=600, gt=0, description="Seconds one run may take.")
    # Paths the lane's sandbox adds read-only / writable (SPEC 10.3); every writable one
    # weakens the sandbox and is shown as such.
    sandbox_ro: list[str] = Field(default_factory=list, description="Paths bound read-only.")
    sandbox_rw: list[str] = Field(default_factory=list, description="Paths bound writable.")
    # The owner approves this lane's scope confirmations in advance: the go is recorded
    # at once (a review `go` in the booker's name, marked `standing`).
    standing_go: bool = Field(default=False, description="The owner's go, given in advance.")

    @field_validator("budget_usd", mode="before")
    @classmethod
    def _exact_budget(cls, value: Any) -> Any:
        # YAML reads `5.10` as a float; the budget is dollars, kept exact.
        return str(value) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _driver_needs(self) -> LaneConfig:
        if self.driver == "command" and self.command is None:
            raise ValueError("command: required with driver: command (the program to start)")
        if self.driver in (None, "command"):
            for key in ("model", "max_turns", "budget_usd"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: only for a lane with an agent CLI driver")
            if self.args:
                raise ValueError("args: only for a lane with an agent CLI driver")
        elif self.max_turns is not None and self.driver != "claude-code":
            raise ValueError(
                f"max_turns: the {self.driver} CLI takes no turn limit on its command line"
            )
        elif self.budget_usd is not None and self.driver not in COSTED_DRIVERS:
            raise ValueError(
                f"budget_usd: the {self.driver} CLI does not report what a run costs, so "
                "a budget could not be kept"
            )
        return self

    @property
    def effective_driver(self) -> str | None:
        """The lane's driver: its `driver:`, else `command` when it has a command."""
        return self.driver or ("command" if self.command is not None else None)

    @property
    def starts_agents(self) -> bool:
        return self.effective_driver is not None


class TierConfig(_Strict):
    """What the gate asks of a WP of this tier."""

    evidence_floor: EvidenceClass = Field(description="The weakest evidence a claim may cite.")
    require_diagnostic_review: bool = Field(
        default=False, description="A `diagnostic` review must precede the claim."
    )
    require_rollback_plan: bool = Field(
        default=False, description="The WP must name a `rollback_plan`."
    )


def _default_tiers() -> dict[Tier, TierConfig]:
    return {
        Tier.LIGHT: TierConfig(evidence_floor=EvidenceClass.SOURCE_TRACE),
        Tier.STANDARD: TierConfig(evidence_floor=EvidenceClass.LOCAL_COMMAND_PROOF),
        Tier.DEEP: TierConfig(
            evidence_floor=EvidenceClass.RUNTIME_PROOF,
            require_diagnostic_review=True,
            require_rollback_plan=True,
        ),
    }


class CanonPolicy(_Strict):
    """The Canon Gate's policy."""

    min_evaluator_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="The evaluator score a candidate needs."
    )
    separation_of_duties: bool = Field(
        default=True, description="A candidate's author may not commission it."
    )


class PolicyConfig(_Strict):
    """The gate's and the trust boundary's policy."""

    version: int = Field(ge=1, description="The policy's version; raise it when it changes.")
    failed_on: list[Predicate] = Field(
        default_factory=lambda: [Predicate.SCOPE_RESPECTED, Predicate.VALIDATION_PASSED],
        description="Predicates whose failure means `failed`, not `blocked`.",
    )
    validation_timeout_s: int = Field(
        default=300, gt=0, description="Seconds one validation command may take."
    )
    canon: CanonPolicy = Field(default_factory=CanonPolicy, description="The Canon Gate's.")
    # SPEC 10.1: `required` refuses unsigned entries and actions; `optional` takes them and
    # marks their events unsigned.
    signatures: Literal["required", "optional"] = Field(
        default="optional", description="Whether entries and actions must be signed."
    )
    max_entry_age_s: int = Field(
        default=86400, gt=0, description="Under `required`: older signed entries are refused."
    )


class RunnerConfig(_Strict):
    """How the headless runner works."""

    mode: Mode = Field(default=Mode.LIVE, description="What the runner may decide.")
    canary_labels: list[str] = Field(
        default_factory=lambda: ["canary"], description="Labels that make a WP a canary."
    )
    verifier: str | None = Field(default=None, description="The principal it verifies as.")
    max_agents: int = Field(default=4, gt=0, description="Agents it runs at once.")
    # The runner's own Ed25519 key (OpenSSH private key file), outside the workspace; it
    # signs the runner's events and checkpoints (SPEC 10.1, 10.4). `~` is expanded.
    key: str | None = Field(default=None, description="Its own private key file.")
    # SPEC 10.3: required | auto (sandbox when bubblewrap works, else say so) | off.
    sandbox: Literal["required", "auto", "off"] = Field(
        default="auto", description="Whether agents run in a bubblewrap sandbox."
    )
    sandbox_network: bool = Field(default=True, description="Whether sandboxes reach the net.")
    outbox_max: int = Field(default=50, gt=0, description="Entries one agent run may file.")

    @field_validator("sandbox", mode="before")
    @classmethod
    def _unquoted_off(cls, value: Any) -> Any:
        # YAML reads an unquoted `sandbox: off` as the boolean false.
        return "off" if value is False else value


# When a work package needs its owner (issue 12): the reasons a notification is raised.
NotifyReason = Literal[
    "scope_waiting", "claim_withheld", "agent_failed", "agent_timed_out", "monitor_flagged"
]


class NotifyConfig(_Strict):
    """Telling the owner when a WP needs them: the TUI's notification and bell, and a
    command the runner runs with the event as JSON on stdin (never with agent text as
    arguments)."""

    bell: bool = Field(default=True, description="Ring the terminal bell in the TUI.")
    command: list[str] | None = Field(
        default=None, min_length=1, description="A program given each notice on stdin."
    )
    timeout_s: int = Field(default=10, gt=0, description="Seconds that command may take.")
    # (not `on:`, which YAML reads as the boolean true)
    reasons: list[NotifyReason] = Field(
        default_factory=lambda: list(get_args(NotifyReason)), description="What to notify of."
    )


STALL_AFTER_MAX = 10 * 366 * 86400  # ten years: beyond that, 0 (off) is what is meant


class MonitorConfig(_Strict):
    """The runner's progress monitor (issue 15): when a WP is flagged for a person. Each
    threshold of 0 turns its check off."""

    stall_after_s: int = Field(
        default=3600,
        ge=0,
        le=STALL_AFTER_MAX,
        description="Seconds an open WP may go with no event of its own.",
    )
    loop_after: int = Field(
        default=3, ge=0, description="Verdicts withholding one WP before it is looping."
    )
    agent_failures: int = Field(
        default=3, ge=0, description="Agent runs of one WP failing in a row."
    )
    light_max_files: int = Field(
        default=10, ge=0, description="Files a light WP's change may touch."
    )
    scan_s: int = Field(default=60, gt=0, description="Seconds between the runner's scans.")


class Config(_Strict):
    """A validated cockpit.yaml."""

    schema_: Literal["cockpit.config/v1"] = Field(alias="schema", description="The format.")
    # The workspace id (a UUID `cockpit init` writes); signed entries name it (SPEC 10.1).
    workspace: str | None = Field(default=None, description="The workspace id (a UUID).")
    tenant: str = Field(min_length=1, description="The tenant entries must name.")
    operator: str = Field(description="The default principal of the TUI and the CLI.")
    principals: dict[str, PrincipalConfig] = Field(
        min_length=1, description="Who may speak, by name."
    )
    roles: dict[str, list[Capability]] = Field(description="Capability bundles, by name.")
    lanes: dict[str, LaneConfig] = Field(
        default_factory=dict, description="How each lane's agent is started."
    )
    tiers: dict[Tier, TierConfig] = Field(
        default_factory=_default_tiers, description="What the gate asks of each tier."
    )
    policy: PolicyConfig = Field(description="The gate's and the signatures' policy.")
    runner: RunnerConfig = Field(default_factory=RunnerConfig, description="The runner's.")
    notify: NotifyConfig = Field(
        default_factory=NotifyConfig, description="When and how the owner is told."
    )
    monitor: MonitorConfig = Field(
        default_factory=MonitorConfig, description="When the runner flags stalled work."
    )
    delivery: DeliveryConfig = Field(
        default_factory=DeliveryConfig, description="How accepted work is delivered."
    )
    worktrees: WorktreesConfig = Field(
        default_factory=WorktreesConfig, description="What each new worktree gets."
    )

    @model_validator(mode="before")
    @classmethod
    def _tier_defaults(cls, data: Any) -> Any:
        """A tier entry inherits its tier's defaults for what it does not say, so writing
        `deep: {evidence_floor: runtime_proof}` keeps deep's diagnostic review and rollback
        plan (typos must not silently weaken policy, and neither may omissions)."""
        if isinstance(data, dict) and isinstance(data.get("tiers"), dict):
            defaults = _default_tiers()
            tiers = {}
            for name, value in data["tiers"].items():
                if isinstance(value, dict) and name in Tier.__members__.values():
                    base = defaults[Tier(name)].model_dump(mode="json")
                    tiers[name] = {**base, **value}
                else:
                    tiers[name] = value
            data = {**data, "tiers": tiers}
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        for name, principal in self.principals.items():
            if "/" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
                raise ValueError(f"principals: {name!r} cannot name a handoff directory")
            for role in principal.roles:
                if role not in self.roles:
                    raise ValueError(f"principals.{name}.roles: unknown role {role!r}")
            for lane in principal.lanes:
                if lane not in self.lanes:
                    raise ValueError(f"principals.{name}.lanes: unknown lane {lane!r}")
        owners: dict[bytes, str] = {}
        for name, principal in self.principals.items():
            for i, line in enumerate(principal.keys):
                try:
                    key = parse_public_key(line)
                except KeyFormatError as exc:
                    raise ValueError(f"principals.{name}.keys.{i}: {exc}") from None
                if key.blob in owners:
                    raise ValueError(
                        f"principals.{name}.keys.{i}: the key is already {owners[key.blob]}'s "
                        "(a key belongs to one principal only)"
                    )
                owners[key.blob] = name
        if self.operator not in self.principals:
            raise ValueError(f"operator: {self.operator!r} is not one of the principals")
        missing = [t.value for t in Tier if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers: missing tier(s) {', '.join(missing)}")
        verifier = self.runner.verifier
        if verifier is None:
            raise ValueError("runner.verifier: required (the runner verifies claims as it)")
        if verifier is not None:
            if verifier not in self.principals:
                raise ValueError(f"runner.verifier: {verifier!r} is not one of the principals")
            if Capability.VERIFY not in self.capabilities(verifier):
                raise ValueError(f"runner.verifier: {verifier!r} lacks the verify capability")
            if Capability.CLAIM in self.capabilities(verifier):
                raise ValueError(
                    f"runner.verifier: {verifier!r} holds the claim capability, so it could "
                    "verify its own work (separation of duties)"
                )
        return self

    def capabilities(self, principal: str) -> frozenset[Capability]:
        """Every capability `principal` holds through its roles; empty if unknown."""
        return self._capabilities.get(principal, frozenset())

    @cached_property
    def _capabilities(self) -> dict[str, frozenset[Capability]]:
        """Each principal's capabilities, worked out once (the config never changes)."""
        return {
            name: frozenset(cap for role in entry.roles for cap in self.roles.get(role, []))
            for name, entry in self.principals.items()
        }

    def has(self, principal: str, capability: Capability) -> bool:
        return capability in self.capabilities(principal)

    def keys_of(self, principal: str) -> list[PublicKey]:
        """The principal's public keys (validated when the config was loaded)."""
        entry = self.principals.get(principal)
        return [parse_public_key(line) for line in entry.keys] if entry else []

    @property
    def signatures_required(self) -> bool:
        return self.policy.signatures == "required"

    def evidence_floor(self, tier: Tier) -> EvidenceClass:
        return self.tiers[tier].evidence_floor


def parse_config(data: Any, source: str = CONFIG_FILE) -> Config:
    """Validate a loaded cockpit.yaml document; raises ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must be a YAML mapping of settings")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe(exc, Config)}") from None


def load_config(path: Path) -> Config:
    """Read and validate cockpit.yaml at `path`; raises ConfigError naming the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        data = load_yaml(text)
        return parse_config(data, str(path))
    except (YamlSyntaxError, UnsafeYaml) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:  # a document nested thousands deep: no config is
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
