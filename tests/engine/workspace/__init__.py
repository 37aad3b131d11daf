"""Workspace: the demo's one source and what init makes of it."""
