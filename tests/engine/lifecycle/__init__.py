"""Lifecycle: states, transitions, what ingest records."""
