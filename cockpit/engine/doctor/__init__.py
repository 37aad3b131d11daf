"""`cockpit doctor`: whether a workspace is fit to run, one check per thing the runner
needs (issue 15). It reads and runs probes only: nothing in the workspace is changed."""
