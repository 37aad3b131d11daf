"""TODO plane docstring."""
