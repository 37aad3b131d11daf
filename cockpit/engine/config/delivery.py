"""`delivery:` in cockpit.yaml (SPEC 11.3): how `cockpit deliver` takes a complete WP's
verified head where it belongs, per workspace and per target repo."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DeliveryVia = Literal["merge", "push", "pr"]


class DeliverySettings(_Strict):
    """How one target repo's accepted work is delivered (SPEC 11.3); what a per-repo
    entry leaves out is the workspace's."""

    via: DeliveryVia | None = Field(
        default=None, description="merge, push or pr for this repo (default: delivery.via)."
    )
    remote: str | None = Field(
        default=None,
        min_length=1,
        description="The remote pushed to, for push and pr (default: delivery.remote).",
    )
    base: str | None = Field(
        default=None,
        min_length=1,
        description="The branch merged into, or the PR's base (default: delivery.base).",
    )


class DeliveryConfig(_Strict):
    """`cockpit deliver`'s defaults (SPEC 11.3), per workspace and per target repo."""

    via: DeliveryVia = Field(
        default="merge",
        description="How `cockpit deliver` delivers without --via: merge (the merge queue: "
        "merge onto the base's tip, re-validate, advance), push (the verified head to "
        "`wp/<WP>` on the remote, never forced) or pr (push, then `gh pr create`).",
    )
    remote: str = Field(
        default="origin", min_length=1, description="The remote pushed to, for push and pr."
    )
    base: str | None = Field(
        default=None,
        min_length=1,
        description="The branch merged into, or the PR's base. Default: the WP's base_ref "
        "when it names a branch, else the branch checked out in the target repo.",
    )
    repos: dict[str, DeliverySettings] = Field(
        default_factory=dict,
        description="Settings by target_repo, as WPs book it; what one leaves out is the "
        "workspace's.",
    )

    def for_repo(self, target_repo: str | None) -> DeliverySettings:
        """The settings that apply to a WP booked with `target_repo`."""
        own = self.repos.get(str(target_repo)) if target_repo is not None else None
        return DeliverySettings(
            via=(own.via if own and own.via else self.via),
            remote=(own.remote if own and own.remote else self.remote),
            base=(own.base if own and own.base else self.base),
        )
