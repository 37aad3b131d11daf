"""Helpers shared by the tests (imported as `helpers.<module>`; fixtures are in conftest.py).

- workspace: `Env`, entry builders, rejection and event readers, the in-process CLI
- process: `cockpit` as a subprocess, a clean environment, deadlines that turn a hang into
  a failure, cleanup of processes a test's runner started
- git: real target repositories
- gate: `Flow` and the verdict assertions of the verify gate
- agents: test agents the runner starts, and the booking helpers they need
"""
