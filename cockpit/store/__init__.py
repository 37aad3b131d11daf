"""The SQLite store: the hash-chained audit log and the projections derived from it."""

from cockpit.store.audit import ChainReport, verify_chain
from cockpit.store.canonical import canonical_json
from cockpit.store.db import Store
from cockpit.store.events import Event, NewEvent

__all__ = ["ChainReport", "Event", "NewEvent", "Store", "canonical_json", "verify_chain"]
