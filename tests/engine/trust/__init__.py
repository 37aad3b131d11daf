"""Trust: signed entries and actions, agent keys, the checkable record, separation of duties."""
