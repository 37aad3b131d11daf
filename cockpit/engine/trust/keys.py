"""Keys Cockpit holds or trusts: the runner's own Ed25519 key (outside the workspace), the
one-run keys it issues to agents, and key files in OpenSSH's format.

Private key files are written 0600 in directories Cockpit creates 0700; nothing here ever
reads a key an agent could have written.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import ConfigError, InputError

DEFAULT_RUNNER_KEY = "~/.config/cockpit/runner_ed25519"


@dataclass(frozen=True)
class HeldKey:
    """A private Ed25519 key Cockpit signs with, and its public half."""

    private: ed25519.Ed25519PrivateKey
    public: PublicKey
    path: Path | None = None

    def sign(self, message: bytes, namespace: str) -> str:
        return sshsig.sign(self.private, message, namespace)


def private_bytes(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def write_key(path: Path, key: ed25519.Ed25519PrivateKey, comment: str) -> PublicKey:
    """Write `key` to `path` (0600, never over an existing file) and `path.pub`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_bytes(key))
    public = sshsig.public_key_of(key, comment)
    path.with_name(path.name + ".pub").write_text(public.line() + "\n")
    return public


# A key file is a few hundred bytes; a larger one is not a key.
KEY_FILE_LIMIT = 64 * 1024


def read_key_file(path: Path) -> bytes:
    """The bytes of a key file, read without waiting: a FIFO, a device or a directory named
    as a key is refused (OSError), never read from (a FIFO would block the runner)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > KEY_FILE_LIMIT:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, too large for a key")
        chunks, remaining = [], KEY_FILE_LIMIT + 1
        while remaining > 0 and (chunk := os.read(fd, remaining)):
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def load_key(path: Path) -> HeldKey:
    """An unencrypted OpenSSH Ed25519 private key; raises ConfigError naming the file."""
    try:
        data = read_key_file(path)
    except OSError as exc:
        raise ConfigError(f"the key {path} cannot be read ({exc.strerror or exc})") from None
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the key {path} is not an unencrypted OpenSSH key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"the key {path} is not an Ed25519 key")
    return HeldKey(key, sshsig.public_key_of(key), path)


def runner_key_path(ws: Workspace) -> Path:
    return Path(os.path.expanduser(ws.config.runner.key or DEFAULT_RUNNER_KEY))


def runner_key(ws: Workspace) -> HeldKey | None:
    """The runner's key when `runner.key` names one (None when the config names none).
    Raises ConfigError if it is named but cannot be used, or lies inside the workspace
    (where an agent could read or replace it)."""
    if ws.config.runner.key is None:
        return None
    path = runner_key_path(ws)
    if path.resolve().is_relative_to(ws.root.resolve()):
        raise ConfigError(f"runner.key: {path} lies inside the workspace; keep it outside")
    return load_key(path)


def init_runner_key(path: Path) -> tuple[PublicKey, bool]:
    """Create the runner key at `path` unless one is there; returns its public key and
    whether it was created."""
    if path.exists():
        return load_key(path).public, False
    return write_key(path, ed25519.Ed25519PrivateKey.generate(), "cockpit-runner"), True


def public_key_file(path: Path) -> PublicKey:
    """A public key from an OpenSSH `.pub` file (or the `.pub` beside a private key)."""
    candidates = [path] if path.name.endswith(".pub") else [path.with_name(path.name + ".pub")]
    for candidate in candidates:
        try:
            return parse_public_key(read_key_file(candidate).decode("utf-8", "replace"))
        except OSError:
            continue
        except KeyFormatError as exc:
            raise InputError(f"{candidate}: {exc}") from None
    held = load_key(path)
    return held.public


def new_agent_key() -> HeldKey:
    """A fresh Ed25519 key for one agent run (SPEC 10.2)."""
    key = ed25519.Ed25519PrivateKey.generate()
    return HeldKey(key, sshsig.public_key_of(key, "cockpit-agent"))
