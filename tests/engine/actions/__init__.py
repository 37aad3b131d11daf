"""Actions: human actions, runner modes, rollback, lineage."""
