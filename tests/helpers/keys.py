"""Real OpenSSH keys for tests: made with ssh-keygen, signed with `ssh-keygen -Y sign` (the
binary people use), and a workspace configured with them under `signatures: required`."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from cockpit.engine.trust.keys import init_runner_key
from helpers.workspace import Env, edit_config

PEOPLE = ("human:owner", "human:reviewer", "agent:implementer-1", "agent:verifier")


def make_key(directory: Path, name: str, kind: str = "ed25519") -> Path:
    """A passphrase-less key pair `directory/name` (+ .pub) made by ssh-keygen."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", str(path)],
        check=True,
        timeout=60,
    )
    return path


def public_line(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text().strip()


def ssh_sign(key: Path, data: bytes, namespace: str = "cockpit-entry") -> bytes:
    """What `ssh-keygen -Y sign -n NAMESPACE -f KEY` writes for `data`."""
    done = subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key)],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def now_stamp(offset_s: int = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Signed:
    """A workspace under `signatures: required` whose principals have real ssh-keygen keys
    (kept in `keys/`, outside the workspace)."""

    def __init__(self, env: Env, key_dir: Path) -> None:
        self.env = env
        self.keys = {p: make_key(key_dir, p.replace(":", "_")) for p in PEOPLE}
        edits = [
            (line, line.replace("{", '{keys: ["' + public_line(self.keys[p]) + '"], ', 1))
            for p, line in _config_lines(env).items()
        ]
        edits.append(("policy:\n", "policy:\n  signatures: required\n"))
        # The runner signs its own events with a key kept outside the workspace.
        self.runner_key = key_dir / "runner_ed25519"
        init_runner_key(self.runner_key)
        edits.append(("runner:\n", f"runner:\n  key: {self.runner_key}\n"))
        edit_config(env, *edits)

    @property
    def workspace_id(self) -> str:
        value = self.env.ws.config.workspace
        assert value is not None
        return value

    def header(self) -> str:
        """The lines a signed entry carries beyond the usual ones (tenant, workspace)."""
        return f"tenant: {self.env.ws.config.tenant}\nworkspace: {self.workspace_id}"

    def drop(self, name: str, text: str, signer: str | None, *, age: float = 5.0) -> Path:
        """Drop an entry with NAME.sig made by `signer`'s key (None: no signature)."""
        data = text.encode()
        if signer is not None:
            sig = self.env.new / (name + ".sig")
            sig.write_bytes(ssh_sign(self.keys[signer], data))
            past = time.time() - age
            os.utime(sig, (past, past))
        return self.env.drop(name, data, age=age)


def _config_lines(env: Env) -> dict[str, str]:
    """principal -> its line in cockpit.yaml (a flow mapping, to insert keys into)."""
    out = {}
    for line in (env.root / "cockpit.yaml").read_text().splitlines():
        for person in PEOPLE:
            if line.startswith(f"  {person}:") and "{" in line:
                out[person] = line
    return out
