"""Config: cockpit.yaml validation and defaults."""
