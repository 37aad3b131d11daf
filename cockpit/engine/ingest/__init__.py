"""Ingest plane: an entry's way into the record, as a pipeline (`pipeline`): prepare (git,
outside any transaction) → the SPEC 3.1 checks (`checks`, in order) → the lifecycle
transition → the events, appended in one store transaction.

It imports the gate (advisory), canon (candidate intake), repo (acceptance proof),
lifecycle, entries and config planes. The queue plane calls it.
"""
