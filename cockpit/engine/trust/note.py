"""C2SP signed notes (c2sp.org/signed-note) and transparency-log checkpoints
(c2sp.org/tlog-checkpoint), Ed25519 only: how the runner signs a checkpoint so that anyone
holding its public key can check the record offline (SPEC 10.4).

A note is its text (lines each ending in a newline), a blank line, then signature lines
`— <key name> <base64(4-byte key id || signature)>`. For Ed25519 the key id is the first
four bytes of SHA-256(key name || "\\n" || 0x01 || the 32-byte public key) and the signature
is over the text's exact bytes. A checkpoint's text is the origin line, the tree size in
decimal and the base64 RFC 6962 root hash. The same format is read by Go's
golang.org/x/mod/sumdb/note and the transparency-dev tools.

Nothing of a note is trusted until a signature by a trusted key verifies: `verify` returns
only the signed text; parsing errors are `NoteError` with one sentence naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from cockpit.engine.config.ssh_keys import KeyFormatError, PublicKey, Reader
from cockpit.engine.trust.keys import HeldKey

ED25519 = 0x01
DASH = "\u2014 "  # em dash, space: what opens a signature line
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100  # the spec asks for at least 16; Go's reader stops at 100


class NoteError(ValueError):
    """A note that is malformed or not signed by a trusted key; the message says which."""


def valid_name(name: str) -> bool:
    """A key name: non-empty, no Unicode space, no plus."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 key under `name`."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def ed25519_public(key: PublicKey) -> bytes:
    """The 32 raw bytes of an OpenSSH `ssh-ed25519` public key."""
    reader = Reader(key.blob)
    try:
        if reader.text() != "ssh-ed25519":
            raise NoteError(f"the key {key.fingerprint} is not an Ed25519 key")
        raw = reader.string()
    except KeyFormatError as exc:
        raise NoteError(f"the key {key.fingerprint} is malformed ({exc})") from None
    if len(raw) != 32 or not reader.done():
        raise NoteError(f"the key {key.fingerprint} is malformed")
    return raw


@dataclass(frozen=True)
class Verifier:
    """A trusted key: its name, key id and 32-byte Ed25519 public key."""

    name: str
    key_id: bytes
    public: bytes

    @property
    def vkey(self) -> str:
        """The verifier key text `<name>+<hex key id>+<base64(0x01 || key)>`."""
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def accepts(self, text: bytes, signature: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def verifier(name: str, key: PublicKey) -> Verifier:
    """The verifier for an OpenSSH Ed25519 key signing under `name`."""
    if not valid_name(name):
        raise NoteError(f"{name!r} cannot name a note key (no spaces, no plus)")
    public = ed25519_public(key)
    return Verifier(name, key_id(name, public), public)


def parse_vkey(text: str) -> Verifier:
    """A verifier from its key text; raises NoteError if it is malformed or its key id is
    not the key's."""
    name, _, rest = text.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        if len(hex_id) != 8 or hex_id != hex_id.lower():
            raise ValueError("the key id is not 8 lowercase hex digits")
        ident = bytes.fromhex(hex_id)
        material = _b64(encoded)
    except ValueError as exc:
        raise NoteError(f"not a verifier key ({exc})") from None
    if not valid_name(name) or len(material) != 33 or material[0] != ED25519:
        raise NoteError("not an Ed25519 verifier key (<name>+<key id>+<base64 key>)")
    if key_id(name, material[1:]) != ident:
        raise NoteError("the verifier key's id is not the hash of its name and key")
    return Verifier(name, ident, material[1:])


def _b64(text: str) -> bytes:
    """Standard base64, canonical only (a re-encoding gives the same text), so one note
    has one spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64")
    return raw


def check_text(text: str) -> None:
    """Raise NoteError unless `text` can be a note's text."""
    if not text or not text.endswith("\n"):
        raise NoteError("a note's text must be non-empty and end in a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note must not contain control characters other than newline")


def sign(text: str, name: str, held: HeldKey) -> str:
    """The signed note of `text` (lines each ending in a newline) by `held` as `name`."""
    check_text(text)
    signer = verifier(name, held.public)
    data = text.encode("utf-8")
    signature = held.private.sign(data)
    encoded = base64.b64encode(signer.key_id + signature).decode()
    return f"{text}\n{DASH}{name} {encoded}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A note as parsed: its text and its signature lines, none of them checked yet."""

    text: str
    signatures: tuple[SignatureLine, ...]


def parse(data: bytes | str) -> Note:
    """Split a note into its text and signature lines; raises NoteError naming what is
    wrong. Nothing is verified: use `verify`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"a note of {len(data)} bytes is larger than {MAX_NOTE_BYTES}")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("a note must be UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in message):
        raise NoteError("a note must not contain control characters other than newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a note must end with a blank line and its signature lines")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a note's last signature line must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note with more than {MAX_SIGNATURES} signatures is refused")
    signatures = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(DASH):
            raise NoteError(f"signature line {number} does not start with an em dash and space")
        name, _, encoded = line[len(DASH) :].partition(" ")
        try:
            raw = _b64(encoded)
        except ValueError as exc:
            raise NoteError(f"signature line {number}: the signature is {exc}") from None
        if not valid_name(name) or len(raw) < 5:
            raise NoteError(f"signature line {number} is not `— <key name> <base64>`")
        signatures.append(SignatureLine(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def verify(data: bytes | str, trusted: Verifier | Sequence[Verifier]) -> list[str]:
    """The text lines of a note signed by a trusted key. As c2sp.org/signed-note says:
    signatures by unknown keys are ignored, one by a trusted key that does not verify
    rejects the note, and a note no trusted key signed is rejected. Raises NoteError."""
    known = [trusted] if isinstance(trusted, Verifier) else list(trusted)
    note = parse(data)
    verified = False
    for line in note.signatures:
        for key in known:
            if key.name != line.name or key.key_id != line.key_id:
                continue
            if not key.accepts(note.text.encode("utf-8"), line.signature):
                raise NoteError(
                    f"the signature by {line.name}+{line.key_id.hex()} does not verify "
                    "(the note was changed, or it was not signed by that key)"
                )
            verified = True
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        wanted = ", ".join(f"{k.name}+{k.key_id.hex()}" for k in known) or "none"
        raise NoteError(
            f"the note is not signed by a trusted key (signed by {names}; trusted: {wanted})"
        )
    return note.text[:-1].split("\n")


# -- transparency-log checkpoints ----------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The body of a c2sp.org/tlog-checkpoint: origin, tree size, root hash, extensions."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])


def parse_checkpoint(lines: Sequence[str]) -> Checkpoint:
    """A checkpoint from a note's (verified) text lines; raises NoteError."""
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint is at least three non-empty lines (origin, size, root)")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"the checkpoint's size {size!r} is not a decimal number")
    try:
        digest = _b64(root)
    except ValueError as exc:
        raise NoteError(f"the checkpoint's root hash is {exc}") from None
    if len(digest) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), digest, tuple(lines[3:]))


def origin(tenant: str, workspace: str | None) -> str:
    """The origin line (and note key name) of a workspace's checkpoints:
    `cockpit/<tenant>/<workspace id>`, each part percent-encoded so the origin has no
    space, plus or extra slash (`cockpit/<tenant>` when the config names no workspace id)."""
    parts = ["cockpit", quote(tenant, safe="")]
    if workspace:
        parts.append(quote(workspace, safe=""))
    return "/".join(parts)
