"""The demo runs signed (`signatures: required`), with keys made when the demo is made and
never committed (issue 11): `cockpit demo` and `cockpit init --demo` call `sign_demo` on the
copied walkthrough.

The keys live beside the workspace, in `DIR.keys/` (so outside it, where no agent's
sandbox binds them): one Ed25519 key per principal of the demo's config and the runner's
key. Every queued entry gets the workspace's id and its NAME.sig, made by its principal's
key. `DIR.keys/DEMO` marks the directory as demo keys: only then does a person's signer
look there (a real workspace never has one).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from cockpit.engine.config.model import CONFIG_FILE, load_config
from cockpit.engine.trust import keys as trust_keys
from cockpit.engine.trust import sshsig
from cockpit.errors import InputError

MARKER = "DEMO"
RUNNER_KEY = "runner_ed25519"
# The walkthrough's entries were written ahead of time; a real workspace keeps the default.
DEMO_MAX_ENTRY_AGE_S = 10 * 365 * 86400


def keys_dir(workspace: Path) -> Path:
    return workspace.parent / f"{workspace.name}.keys"


def key_name(principal: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", principal)


def demo_key(workspace: Path, principal: str) -> Path | None:
    """The demo key of `principal` when `workspace` is a demo made by `sign_demo`."""
    directory = keys_dir(workspace)
    path = directory / key_name(principal)
    return path if (directory / MARKER).is_file() and path.is_file() else None


def _key(directory: Path, name: str, comment: str) -> trust_keys.HeldKey:
    path = directory / name
    if not path.exists():
        trust_keys.write_key(path, ed25519.Ed25519PrivateKey.generate(), comment)
    return trust_keys.load_key(path)


def sign_demo(workspace: Path) -> Path:
    """Turn the copied walkthrough in `workspace` into a signed one; returns the keys'
    directory. Keys already in it (a demo made again) are reused."""
    config_path = workspace / CONFIG_FILE
    config = load_config(config_path)
    directory = keys_dir(workspace)
    directory.mkdir(mode=0o700, exist_ok=True)
    (directory / MARKER).write_text(
        f"Demo keys of {workspace}, made by Cockpit; they sign its walkthrough.\n"
    )
    people = {p: _key(directory, key_name(p), p) for p in config.principals}
    _key(directory, RUNNER_KEY, "cockpit-runner")
    workspace_id = str(uuid.uuid4())
    text = config_path.read_text(encoding="utf-8")
    text = _configured(text, workspace_id, people, directory / RUNNER_KEY)
    config_path.write_text(text, encoding="utf-8")
    queued = workspace / "queue" / "new"
    rehashed: dict[str, str] = {}  # an entry's sha256 before and after it names its workspace
    for path in sorted(p for p in queued.iterdir() if _is_entry(p)):  # refs point backwards
        before = path.read_bytes()
        data = _with_workspace(before.decode("utf-8"), config.tenant, workspace_id)
        for old, new in rehashed.items():  # pins of earlier entries follow their new hash
            data = data.replace(old, new)
        rehashed[hashlib.sha256(before).hexdigest()] = hashlib.sha256(data.encode()).hexdigest()
        principal = re.search(r"^principal:\s*(\S+)\s*$", data, re.M)
        if principal is None or principal.group(1) not in people:
            raise InputError(f"the demo entry {path.name} names no principal of the demo")
        path.write_text(data, encoding="utf-8")
        signature = people[principal.group(1)].sign(data.encode("utf-8"), sshsig.ENTRY)
        path.with_name(path.name + ".sig").write_text(signature, encoding="ascii")
    load_config(config_path)  # what was written must still be a valid config
    return directory


def _is_entry(path: Path) -> bool:
    name = path.name
    return path.is_file() and not name.startswith(".") and not name.endswith((".sig", ".tmp"))


def _configured(
    text: str, workspace_id: str, people: dict[str, trust_keys.HeldKey], runner: Path
) -> str:
    text = text.replace(
        "schema: cockpit.config/v1\n",
        f"schema: cockpit.config/v1\nworkspace: {workspace_id}\n",
        1,
    )
    for principal, held in people.items():
        pattern = re.compile(rf"^(  {re.escape(principal)}:\s*\{{)", re.M)
        text, count = pattern.subn(rf'\1keys: ["{held.public.line()}"], ', text, count=1)
        if count != 1:
            raise InputError(f"the demo config's line for {principal} is not a flow mapping")
    text = text.replace(
        "policy:\n",
        "policy:\n  signatures: required  # the demo runs signed (keys beside it, DIR.keys/)\n"
        f"  max_entry_age_s: {DEMO_MAX_ENTRY_AGE_S}  # its entries were written ahead of time\n",
        1,
    )
    return text.replace("runner:\n", f"runner:\n  key: {runner}\n", 1)


def _with_workspace(text: str, tenant: str, workspace_id: str) -> str:
    """The entry naming its tenant and workspace (what a signed entry must say), after its
    `principal:` line (YAML or Markdown front matter)."""
    lines = [] if re.search(r"^tenant:", text, re.M) else [f"tenant: {tenant}"]
    if not re.search(r"^workspace:", text, re.M):
        lines.append(f"workspace: {workspace_id}")
    if not lines:
        return text
    added = "\n".join(lines)
    out, count = re.subn(r"^(principal:.*)$", rf"\1\n{added}", text, count=1, flags=re.M)
    if count != 1:
        raise InputError("a demo entry names no principal")
    return out
