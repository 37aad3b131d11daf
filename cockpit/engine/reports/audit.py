"""Audit operations on a workspace: verify the chain (and its checkpoints), write a
checkpoint, replay the projections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cockpit.engine.workspace.layout import Workspace
from cockpit.store import ChainReport, Store
from cockpit.store.checkpoint import verify_against, write_checkpoint
from cockpit.store.replay import replay as replay_projections


def verify(
    ws: Workspace, store: Store, progress: Callable[[int, int], None] | None = None
) -> ChainReport:
    """Recompute the chain, then hold it against every checkpoint in .cockpit/checkpoints."""
    return verify_against(store, store.verify_chain(progress), ws.checkpoints_dir)


def checkpoint(ws: Workspace, store: Store) -> dict[str, Any]:
    """Write a checkpoint of the chain as it stands (size, head, RFC 6962 Merkle root)."""
    return write_checkpoint(store, ws.checkpoints_dir)


def replay(store: Store) -> dict[str, Any]:
    """Rebuild the projections from the events and compare digests with the live ones."""
    return replay_projections(store)
