"""OpenSSH public keys as cockpit.yaml names them (`ssh-ed25519 AAAA… comment`): the line
parsed and checked (the base64 blob must be an SSH key of the type the line says), and its
fingerprint as OpenSSH prints it (`SHA256:` and unpadded base64 of the blob's SHA-256).

Only parsing lives here, so config validation needs no cryptography; the trust plane turns a
parsed key into a verifier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

# Key types whose signatures Cockpit verifies (SPEC 10.1: Ed25519 at least; hardware keys
# through OpenSSH's FIDO types; ECDSA and RSA for keys people already have).
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "sk-ssh-ed25519@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-rsa",
    }
)


class KeyFormatError(ValueError):
    """A key line or SSH wire data that is not what it claims to be."""


@dataclass(frozen=True)
class PublicKey:
    """One OpenSSH public key: its type, wire blob and comment."""

    type: str
    blob: bytes
    comment: str = ""

    @property
    def fingerprint(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    def line(self) -> str:
        text = f"{self.type} {base64.b64encode(self.blob).decode()}"
        return f"{text} {self.comment}" if self.comment else text


class Reader:
    """SSH wire format (RFC 4251): uint32 and length-prefixed strings, bounds-checked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uint32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise KeyFormatError("truncated SSH data")
        (value,) = struct.unpack_from(">I", self.data, self.pos)
        self.pos += 4
        return int(value)

    def byte(self) -> int:
        if self.pos + 1 > len(self.data):
            raise KeyFormatError("truncated SSH data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def string(self) -> bytes:
        size = self.uint32()
        if self.pos + size > len(self.data):
            raise KeyFormatError("truncated SSH data")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def text(self) -> str:
        try:
            return self.string().decode("ascii")
        except UnicodeDecodeError:
            raise KeyFormatError("an SSH name is not ASCII") from None

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise KeyFormatError("truncated SSH data")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def done(self) -> bool:
        return self.pos == len(self.data)


def ssh_string(value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(data)) + data


def parse_blob(blob: bytes) -> PublicKey:
    """A public key from its wire blob; raises KeyFormatError for an unknown type."""
    key_type = Reader(blob).text()
    if key_type not in KEY_TYPES:
        raise KeyFormatError(f"key type {key_type!r} is not supported")
    return PublicKey(key_type, blob)


def parse_public_key(line: str) -> PublicKey:
    """Parse `TYPE BASE64 [COMMENT]`; raises KeyFormatError naming what is wrong."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise KeyFormatError("not an OpenSSH public key line (TYPE BASE64 [COMMENT])")
    key_type, encoded = parts[0], parts[1]
    if key_type not in KEY_TYPES:
        raise KeyFormatError(f"key type {key_type!r} is not supported")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("the key's base64 does not decode") from None
    if parse_blob(blob).type != key_type:
        raise KeyFormatError(f"the key data is not a {key_type} key")
    return PublicKey(key_type, blob, parts[2] if len(parts) > 2 else "")
