"""Reports: metrics, replay, checkpoints, the audit report."""
