"""The RFC 6962 Merkle tree hash over the audit chain's leaves.

Our leaf hashes are already RFC 6962 leaf hashes (SHA-256 of 0x00 || data), so the tree is
built over them directly: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k the
largest power of two smaller than n, and MTH of nothing = SHA-256 of the empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of already-hashed leaves (iterative, no recursion limit)."""
    if not leaf_hashes:
        return hashlib.sha256(b"").digest()
    # Fold level by level; an odd node at the end is carried up unchanged, which builds
    # exactly RFC 6962's left-full tree.
    level = list(leaf_hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
