"""Queue: Maildir discipline, the sweep, `cockpit submit`."""
