"""Store: the event log, the audit chain, the schema."""
