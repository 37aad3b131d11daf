"""Queue plane: the handoff queue directory, the Maildir way (`maildir`: deliver, claim,
finish, reject), one sweep of it (`sweep`: every entry ingested exactly once or rejected
with its reason) and `cockpit submit` (`submit`: validate, then deliver).

It imports the ingest and entries planes.
"""
