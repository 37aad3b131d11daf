"""Cockpit: the operator's control room for a governed delivery queue of AI agents."""

__version__ = "0.1.0"
