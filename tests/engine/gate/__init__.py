"""Gate: the verify predicates, validation commands, advisory."""
