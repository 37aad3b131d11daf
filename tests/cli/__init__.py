"""CLI: workspace resolution, config validation, exit codes, the demo."""
