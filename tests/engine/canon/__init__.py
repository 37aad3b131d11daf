"""Canon: candidates, the Canon Gate, commissioning, redaction."""
