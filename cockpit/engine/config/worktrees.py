"""`worktrees:` in cockpit.yaml (SPEC 11.4): what a new worktree gets before its agent
starts (a fetch of the base's remote, gitignored files copied from the target repo, an
owner-approved setup command, a range of TCP ports) and when finished ones are pruned.

Paths named here are paths inside the target repo: a relative path with no `..`, no
`.git` and no empty part, so nothing the config names can reach outside the repository
or into its git directory."""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def repo_path_problem(path: str) -> str | None:
    """Why `path` cannot name a file inside a repository (None when it can)."""
    if not path or path != path.strip():
        return "is empty or has surrounding blanks"
    if "\\" in path or any(ord(c) < 32 for c in path):
        return "holds a backslash or a control character"
    if PurePosixPath(path).is_absolute() or path.startswith("~"):
        return "is absolute; name a path inside the target repo"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "must be a plain relative path (no `..`, `.` or empty part)"
    if any(part.lower() == ".git" for part in parts):
        return "names the repository's git directory"
    return None


class WorktreesConfig(BaseModel):
    """Worktree housekeeping (SPEC 11.4): what a new worktree gets before its agent, and
    when finished ones are pruned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fetch: bool = Field(
        default=True,
        description="Fetch the base's remote before making a worktree, when `base_ref` names "
        "a remote-tracking branch or the base branch has an upstream.",
    )
    copy_: list[str] = Field(
        default_factory=list,
        alias="copy",
        description="Gitignored files copied from the target repo into each new worktree "
        "(paths relative to the repo; only regular files git ignores there are copied).",
    )
    setup: list[str] | None = Field(
        default=None,
        min_length=1,
        description="A command run in each new worktree, in the WP's sandbox, before its "
        "agent; its last argument is the setup script, a path in the target repo.",
    )
    setup_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The owner-approved sha256 of the setup script file, as it is in the "
        "WP's base commit (`cockpit worktrees approve-setup` approves others).",
    )
    ports_per_wp: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Free TCP ports reserved for each live WP, from 20000 up "
        "(`COCKPIT_PORT`, `COCKPIT_PORTS`; 0: none).",
    )
    keep_days: int = Field(
        default=7,
        ge=0,
        description="Days after a WP finished (cancelled, rolled back or delivered) before "
        "the runner prunes its worktree (0: never).",
    )

    @field_validator("copy_")
    @classmethod
    def _copied_inside(cls, paths: list[str]) -> list[str]:
        for path in paths:
            problem = repo_path_problem(path)
            if problem is not None:
                raise ValueError(f"{path!r} {problem}")
        if len(set(paths)) != len(paths):
            raise ValueError("names a file twice")
        return paths

    @field_validator("setup")
    @classmethod
    def _script_inside(cls, command: list[str] | None) -> list[str] | None:
        if command is not None:
            problem = repo_path_problem(command[-1])
            if problem is not None:
                raise ValueError(f"its last argument, the setup script {command[-1]!r}, {problem}")
        return command

    @model_validator(mode="after")
    def _hash_needs_setup(self) -> WorktreesConfig:
        if self.setup_sha256 is not None and self.setup is None:
            raise ValueError("setup_sha256 approves a setup script, but no setup is set")
        return self

    @property
    def setup_script(self) -> str | None:
        """The setup script's path in the target repo (setup's last argument)."""
        return self.setup[-1] if self.setup else None
