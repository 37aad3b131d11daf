"""Ingest: the checks an entry passes (or the rejection code it gets)."""
