"""OpenSSH's SSHSIG signatures (PROTOCOL.sshsig), verified in-process with `cryptography`,
so ingest pays microseconds per entry and no subprocess; and made in-process for the keys
Cockpit itself holds (the runner's and each agent run's Ed25519 key).

People sign with `ssh-keygen -Y sign -n NAMESPACE -f KEY FILE` (see `signer`), which is
exactly what `verify` checks: the armored signature over the message's exact bytes, in one
namespace, by one key. Ed25519, ECDSA (NIST P-256/384/521), RSA (SHA-2 only) and the FIDO
types OpenSSH uses for hardware keys (sk-ssh-ed25519, sk-ecdsa-sha2-nistp256, with the
user-presence flag required) are verified.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cockpit.engine.config.ssh_keys import (
    KeyFormatError,
    PublicKey,
    Reader,
    parse_blob,
    ssh_string,
)

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
MAX_ARMORED = 16 * 1024  # an SSHSIG of any supported key is well under 2 KiB

# The namespaces Cockpit signs in (SPEC 10): entries, people's actions, the runner's events.
ENTRY = "cockpit-entry"
ACTION = "cockpit-action"
RUNNER = "cockpit-runner"

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_CURVES: dict[str, tuple[ec.EllipticCurve, hashes.HashAlgorithm]] = {
    "nistp256": (ec.SECP256R1(), hashes.SHA256()),
    "nistp384": (ec.SECP384R1(), hashes.SHA384()),
    "nistp521": (ec.SECP521R1(), hashes.SHA512()),
}
_USER_PRESENT = 0x01


class SignatureError(ValueError):
    """A signature that is malformed or does not verify; the message says which."""


@dataclass(frozen=True)
class Signature:
    """A parsed SSHSIG: who signed (the key), in which namespace, and the raw parts."""

    key: PublicKey
    namespace: str
    hash_algorithm: str
    signature: bytes
    armored: str

    @property
    def signer(self) -> str:
        return self.key.fingerprint


def parse(armored: str | bytes) -> Signature:
    """Parse an armored SSHSIG (what `ssh-keygen -Y sign` writes to FILE.sig); raises
    SignatureError naming what is wrong. Nothing is verified yet."""
    if isinstance(armored, bytes):
        if len(armored) > MAX_ARMORED:
            raise SignatureError("the signature file is too large to be a signature")
        try:
            armored = armored.decode("ascii")
        except UnicodeDecodeError:
            raise SignatureError("the signature is not ASCII armor") from None
    text = armored.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        raise SignatureError("not an SSH signature (no BEGIN/END SSH SIGNATURE lines)")
    body = "".join(text[len(BEGIN) : -len(END)].split())
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature's base64 does not decode") from None
    reader = Reader(blob)
    try:
        if reader.raw(6) != MAGIC or reader.uint32() != VERSION:
            raise SignatureError("not an SSHSIG version 1 signature")
        key = parse_blob(reader.string())
        namespace = reader.text()
        reader.string()  # reserved
        hash_algorithm = reader.text()
        signature = reader.string()
        if not reader.done():
            raise SignatureError("trailing data after the signature")
    except KeyFormatError as exc:
        raise SignatureError(f"malformed signature: {exc}") from None
    if hash_algorithm not in _HASHES:
        raise SignatureError(f"hash algorithm {hash_algorithm!r} is not sha256 or sha512")
    return Signature(key, namespace, hash_algorithm, signature, text + "\n")


def signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    """What an SSHSIG signature is computed over (PROTOCOL.sshsig)."""
    digest = _HASHES[hash_algorithm](message).digest()
    return (
        MAGIC
        + ssh_string(namespace)
        + ssh_string(b"")
        + ssh_string(hash_algorithm)
        + ssh_string(digest)
    )


def verify(sig: Signature, message: bytes, namespace: str) -> None:
    """Check that `sig` signs exactly `message` in `namespace`; raises SignatureError.
    Which key may sign is the caller's question (`sig.key`)."""
    if sig.namespace != namespace:
        raise SignatureError(f"signed in namespace {sig.namespace!r}, not {namespace!r}")
    data = signed_data(namespace, sig.hash_algorithm, message)
    try:
        _verify_raw(sig.key.blob, sig.signature, data)
    except (InvalidSignature, KeyFormatError, ValueError, struct.error) as exc:
        detail = str(exc) if isinstance(exc, KeyFormatError | SignatureError) else ""
        raise SignatureError(
            f"the signature does not verify{': ' + detail if detail else ''}"
        ) from None


def _mpint(reader: Reader) -> int:
    return int.from_bytes(reader.string(), "big", signed=True)


def _ecdsa_signature(blob: bytes) -> bytes:
    reader = Reader(blob)
    r, s = _mpint(reader), _mpint(reader)
    return encode_dss_signature(r, s)


def _verify_raw(key_blob: bytes, sig_blob: bytes, data: bytes) -> None:
    key = Reader(key_blob)
    key_type = key.text()
    sig = Reader(sig_blob)
    sig_type = sig.text()
    raw = sig.string()
    if key_type == "ssh-ed25519":
        _expect(sig_type, "ssh-ed25519")
        _ed25519(key.string()).verify(raw, data)
    elif key_type == "sk-ssh-ed25519@openssh.com":
        _expect(sig_type, key_type)
        public, application = key.string(), key.string()
        _ed25519(public).verify(raw, _sk_message(application, sig, data))
    elif key_type.startswith("ecdsa-sha2-"):
        _expect(sig_type, key_type)
        curve, point = key.text(), key.string()
        _ecdsa(curve, point).verify(_ecdsa_signature(raw), data, ec.ECDSA(_CURVES[curve][1]))
    elif key_type == "sk-ecdsa-sha2-nistp256@openssh.com":
        _expect(sig_type, key_type)
        curve, point, application = key.text(), key.string(), key.string()
        message = _sk_message(application, sig, data)
        _ecdsa(curve, point).verify(_ecdsa_signature(raw), message, ec.ECDSA(hashes.SHA256()))
    elif key_type == "ssh-rsa":
        algorithms: dict[str, hashes.HashAlgorithm] = {
            "rsa-sha2-256": hashes.SHA256(),
            "rsa-sha2-512": hashes.SHA512(),
        }
        if sig_type not in algorithms:
            raise SignatureError(f"RSA signature type {sig_type!r} is not allowed (SHA-2 only)")
        e, n = _mpint(key), _mpint(key)
        rsa_key = rsa.RSAPublicNumbers(e, n).public_key()
        if rsa_key.key_size < 2048:
            raise SignatureError("RSA keys under 2048 bits are refused")
        rsa_key.verify(raw, data, padding.PKCS1v15(), algorithms[sig_type])
    else:
        raise SignatureError(f"key type {key_type!r} is not supported")


def _expect(sig_type: str, key_type: str) -> None:
    if sig_type != key_type:
        raise SignatureError(f"a {sig_type} signature from a {key_type} key")


def _sk_message(application: bytes, sig: Reader, data: bytes) -> bytes:
    """What a FIDO authenticator signs: the application's and the data's SHA-256 around its
    flags and counter. Without user presence (a touch) the signature is refused."""
    flags = sig.byte()
    counter = sig.uint32()
    if not flags & _USER_PRESENT:
        raise SignatureError("the hardware key signed without user presence")
    return (
        hashlib.sha256(application).digest()
        + bytes([flags])
        + struct.pack(">I", counter)
        + hashlib.sha256(data).digest()
    )


@functools.lru_cache(maxsize=1024)
def _ed25519(public: bytes) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(public)


@functools.lru_cache(maxsize=256)
def _ecdsa(curve: str, point: bytes) -> ec.EllipticCurvePublicKey:
    if curve not in _CURVES:
        raise SignatureError(f"curve {curve!r} is not supported")
    return ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[curve][0], point)


# -- signing with a key Cockpit holds -------------------------------------------------------


def public_key_of(private: ed25519.Ed25519PrivateKey, comment: str = "") -> PublicKey:
    raw = private.public_key().public_bytes_raw()
    return PublicKey("ssh-ed25519", ssh_string("ssh-ed25519") + ssh_string(raw), comment)


def sign(private: ed25519.Ed25519PrivateKey, message: bytes, namespace: str) -> str:
    """An armored SSHSIG of `message` in `namespace`, as `ssh-keygen -Y sign` would write
    it for this key (SHA-512)."""
    public = public_key_of(private)
    raw = private.sign(signed_data(namespace, "sha512", message))
    blob = (
        MAGIC
        + struct.pack(">I", VERSION)
        + ssh_string(public.blob)
        + ssh_string(namespace)
        + ssh_string(b"")
        + ssh_string("sha512")
        + ssh_string(ssh_string("ssh-ed25519") + ssh_string(raw))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def describe(sig: Signature) -> dict[str, Any]:
    """The signature as an event records it (SPEC 10.1), less what was signed."""
    return {"signer": sig.signer, "namespace": sig.namespace, "sig": sig.armored}
