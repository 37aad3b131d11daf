"""Who signs the TUI's actions (SPEC 10.1), once per session.

The signer is the acting principal's key held by ssh-agent if there is one, else
`$COCKPIT_SIGNING_KEY`, else a private key file the person names once, in a dialog, when an
action first needs a signature (`policy.signatures: required`, or the principal has keys in
cockpit.yaml). A key file is read with `ssh-keygen -y -P ''` first, with no terminal: a
passphrase-protected key is refused (ssh-keygen would ask for the passphrase on the
terminal the TUI owns), and so is a key that is not one of the principal's. Under
`optional`, a principal without keys acts unsigned without being asked.

Looking into ssh-agent and reading a key file run in worker threads; the signature itself
is made by the engine call, in the worker the action runs in (a hardware key may wait for a
touch). Nothing is decided here that the engine does not check again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, parse_public_key
from cockpit.engine.trust import signer, sshsig
from cockpit.engine.trust.actions import Sign, SignedAction, message
from cockpit.engine.trust.signer import KeySource
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.screens.modals.signing_key import ActUnsigned, KeyAnswer, SigningKeyModal

READ_TIMEOUT_S = 10


@dataclass(frozen=True)
class Found:
    """What a look for a key found: a source and its public key, and what went wrong."""

    source: KeySource | None = None
    key: PublicKey | None = None
    problem: str | None = None


def short(fingerprint: str) -> str:
    """`SHA256:` and the first 8 characters: enough to tell one's keys apart."""
    head, _, digest = fingerprint.partition(":")
    return f"{head}:{digest[:8]}" if digest else fingerprint


def read_key_file(path: Path, mine: list[PublicKey], principal: str) -> Found:
    """The public half of the private key file `path`, read by `ssh-keygen -y` without a
    passphrase and without a terminal; a problem sentence when it cannot be used to sign
    as `principal` (missing, a public key, passphrase-protected, not one of its keys)."""
    shown = str(path)
    if not path.is_file():
        return Found(problem=f"{shown} is not a file")
    if path.suffix == ".pub":
        return Found(problem=f"{shown} is a public key: name the private key file beside it")
    env = {**os.environ, "SSH_ASKPASS_REQUIRE": "never"}
    env.pop("DISPLAY", None)
    try:
        done = subprocess.run(
            ["ssh-keygen", "-y", "-P", "", "-f", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=READ_TIMEOUT_S,
            env=env,
            start_new_session=True,  # no controlling terminal: it can never prompt on ours
            check=False,
        )
    except FileNotFoundError:
        return Found(problem="ssh-keygen is not installed (OpenSSH's client tools)")
    except subprocess.TimeoutExpired:
        return Found(problem=f"ssh-keygen did not read {shown} within {READ_TIMEOUT_S} s")
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        reason = said[-1] if said else f"exit {done.returncode}"
        if "passphrase" in reason:
            return Found(
                problem=f"{shown} is protected by a passphrase, which the TUI cannot ask "
                f"for: add it to ssh-agent (ssh-add {shown}) and act again"
            )
        return Found(problem=f"ssh-keygen cannot read {shown}: {reason}")
    try:
        key = parse_public_key(done.stdout.strip())
    except KeyFormatError as exc:
        return Found(problem=f"{shown} is not a key ssh-keygen can sign with: {exc}")
    if mine and key.blob not in {k.blob for k in mine}:
        return Found(
            problem=f"{shown} ({short(key.fingerprint)}) is not one of {principal}'s keys "
            "in cockpit.yaml: nothing was recorded"
        )
    return Found(KeySource(path=path), key)


class Signing:
    """The session's signer for one acting principal: found once, then remembered."""

    def __init__(self, ws: Workspace, principal: str, env: Mapping[str, str] | None = None):
        self.ws = ws
        self.principal = principal
        self.env = os.environ if env is None else env
        self.source: KeySource | None = None
        self.key: PublicKey | None = None
        self.unsigned = False  # the person chose (or, without keys, was left) to act unsigned

    @property
    def required(self) -> bool:
        return self.ws.config.signatures_required

    def keys(self) -> list[PublicKey]:
        return self.ws.config.keys_of(self.principal)

    @property
    def wanted(self) -> bool:
        """An action must (required) or should (the principal has keys) be signed."""
        return self.required or bool(self.keys())

    @property
    def decided(self) -> bool:
        return self.source is not None or self.unsigned

    @property
    def label(self) -> str:
        """What the header says about signing; empty when nothing needs saying."""
        if self.key is not None:
            via = " (ssh-agent)" if self.source and self.source.agent_key else ""
            return f"signs {short(self.key.fingerprint)}{via}"
        if self.required:
            return "no signing key yet"
        return ""

    def look_up(self) -> Found:
        """In a worker: the key the engine's signer would choose (the principal's ssh-agent
        key, else $COCKPIT_SIGNING_KEY, else a demo's key), a key file checked first."""
        try:
            source = signer.choose_key(
                self.ws.config, self.principal, env=self.env, workspace=self.ws.root
            )
        except Refused:
            return Found()
        if source.agent_key is not None:
            return Found(source, source.agent_key)
        assert source.path is not None
        found = read_key_file(source.path, self.keys(), self.principal)
        if found.problem and self.env.get("COCKPIT_SIGNING_KEY"):
            return Found(problem=f"$COCKPIT_SIGNING_KEY: {found.problem}")
        return found

    def adopt(self, found: Found) -> None:
        """On the UI thread: remember what a look or the dialog found."""
        if found.source is not None and found.problem is None:
            self.source, self.key, self.unsigned = found.source, found.key, False
        elif not self.wanted:
            self.unsigned = True  # no key to look for: act unsigned, as before signatures

    def sign(self) -> Sign | None:
        """The Sign the engine call uses (None: unsigned); it runs ssh-keygen when called,
        in the action's worker."""
        source = self.source
        if source is None:
            return None

        def signed(doc: dict[str, Any]) -> SignedAction:
            # Detached from the TUI's terminal: a hardware key's PIN prompt cannot draw over it.
            signature = signer.sign(message(doc), sshsig.ACTION, source, detach=True)
            return SignedAction(doc, signature)

        return signed


def in_thread(app: Any, work: Callable[[], Found], then: Callable[[Found], None]) -> None:
    """Run `work` in a worker thread, then `then` with its result on the UI thread."""

    def run() -> None:
        try:
            found = work()
        except Exception as exc:  # a look that fails is said, never fatal
            found = Found(problem=f"{type(exc).__name__}: {exc}")
        if not app.quitting:
            app.call_from_thread(then, found)

    app.run_worker(run, thread=True, group="signing", exit_on_error=False)


def with_signer(app: Any, then: Callable[[Sign | None], None]) -> None:
    """Call `then` with the session's signer, finding it first (ssh-agent, then
    $COCKPIT_SIGNING_KEY, then a key file asked for once); an action abandoned for want of a
    usable key is a notification and `then` is not called."""
    session: Signing = app.signing
    if session.decided:
        then(session.sign())
        return

    def looked(found: Found) -> None:
        if found.problem:
            app.say(found.problem, title="Signing key", severity="warning")
        session.adopt(found)
        app.refresh_status()
        if session.decided:
            then(session.sign())
        elif not session.keys():  # required, but no key of this principal could sign
            then(None)  # the engine refuses it, in its own sentence
        else:
            ask(app, session, then)

    in_thread(app, session.look_up, looked)


def ask(app: Any, session: Signing, then: Callable[[Sign | None], None]) -> None:
    """Ask for the private key file once; check it in a worker before remembering it."""

    def checked(found: Found) -> None:
        if found.problem:
            app.say(found.problem, title="Not signed", severity="error")
            return
        session.adopt(found)
        app.refresh_status()
        then(session.sign())

    def answered(answer: KeyAnswer) -> None:
        if answer is None:
            app.say("No key given: nothing was recorded.", title="Not signed", severity="warning")
        elif isinstance(answer, ActUnsigned):
            session.unsigned = True
            app.refresh_status()
            then(None)
        else:
            path = answer.expanduser()
            in_thread(app, lambda: read_key_file(path, session.keys(), session.principal), checked)

    app.push_screen(SigningKeyModal(session.principal, required=session.required), answered)


def look_up_at_start(app: Any) -> None:
    """Find the session's key in the background when the app starts, so the header says
    which key signs before the first action (nothing is asked here)."""
    session: Signing = app.signing

    def looked(found: Found) -> None:
        if found.problem:
            app.say(found.problem, title="Signing key", severity="warning")
        if not session.decided:
            session.adopt(found)
        app.refresh_status()

    in_thread(app, session.look_up, looked)
