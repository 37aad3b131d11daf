"""Signing as a person: through OpenSSH's own `ssh-keygen -Y sign`, so the keys people
already use for git work as they are (a key file, a key held by ssh-agent, a hardware key).

The key is chosen as SPEC 10.1 says: `--key FILE`, else `$COCKPIT_SIGNING_KEY`, else the
ssh-agent key that is one of the principal's keys in cockpit.yaml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cockpit.engine.config.model import Config
from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.trust import sshsig
from cockpit.engine.trust.demo import demo_key
from cockpit.errors import InputError, Refused

SIGN_TIMEOUT_S = 120  # a hardware key waits for a touch


@dataclass(frozen=True)
class KeySource:
    """Where a signature comes from: a private key file, or an ssh-agent key."""

    path: Path | None = None
    agent_key: PublicKey | None = None

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        assert self.agent_key is not None
        return f"the ssh-agent key {self.agent_key.fingerprint}"


def agent_keys(env: Mapping[str, str]) -> list[PublicKey]:
    """The keys ssh-agent holds (none when no agent is reachable)."""
    if not env.get("SSH_AUTH_SOCK") or shutil.which("ssh-add", path=env.get("PATH")) is None:
        return []
    try:
        listed = subprocess.run(
            ["ssh-add", "-L"],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    keys = []
    for line in listed.stdout.splitlines():
        try:
            keys.append(parse_public_key(line))
        except KeyFormatError:
            continue
    return keys


def choose_key(
    config: Config,
    principal: str,
    key: Path | None = None,
    env: Mapping[str, str] | None = None,
    workspace: Path | None = None,
) -> KeySource:
    """The key to sign with for `principal`; raises Refused when none can be found. For
    a demo workspace (`cockpit demo`), the demo key made beside it is the last resort."""
    env = os.environ if env is None else env
    if key is not None:
        return KeySource(path=key)
    if env.get("COCKPIT_SIGNING_KEY"):
        return KeySource(path=Path(env["COCKPIT_SIGNING_KEY"]).expanduser())
    mine = {k.blob for k in config.keys_of(principal)}
    for candidate in agent_keys(env):
        if candidate.blob in mine:
            return KeySource(agent_key=candidate)
    demo = demo_key(workspace, principal) if workspace is not None else None
    if demo is not None:
        return KeySource(path=demo)
    raise Refused(
        f"no key to sign as {principal}: pass --key FILE, set $COCKPIT_SIGNING_KEY, or add "
        "one of its keys from cockpit.yaml to ssh-agent"
    )


def sign(
    message: bytes,
    namespace: str,
    source: KeySource,
    env: Mapping[str, str] | None = None,
    *,
    detach: bool = False,
) -> str:
    """The armored SSHSIG of `message` made by `ssh-keygen -Y sign`; raises InputError with
    ssh-keygen's own reason when it cannot sign (a missing key, a wrong passphrase)."""
    env = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="cockpit-sign-") as scratch:
        key_arg = source.path
        if key_arg is None:
            assert source.agent_key is not None
            key_arg = Path(scratch) / "agent.pub"
            key_arg.write_text(source.agent_key.line() + "\n")
        try:
            done = subprocess.run(
                ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key_arg)],
                input=message,
                env=env,
                capture_output=True,
                timeout=SIGN_TIMEOUT_S,
                check=False,
                # A TUI signs detached from its terminal (no prompt can draw over it); the
                # CLI keeps it, so a hardware key's PIN can be typed.
                start_new_session=detach,
            )
        except FileNotFoundError:
            raise InputError("ssh-keygen is not installed (OpenSSH's client tools)") from None
        except subprocess.TimeoutExpired:
            raise InputError(f"ssh-keygen did not sign within {SIGN_TIMEOUT_S} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"ssh-keygen could not sign with {source.describe()}: "
            f"{reason[-1] if reason else 'exit ' + str(done.returncode)}"
        )
    armored = done.stdout.decode("ascii", "replace")
    sshsig.verify(sshsig.parse(armored), message, namespace)  # what we hand on is sound
    return armored
