"""Reports plane: what a reader sees, computed from the store. The board and a WP's status
(`board`), packet lineage (`lineage`), the audit chain's verification and checkpoints
(`audit`), the gate's metrics (`metrics`) and the board's pages for the TUI (`pages`).

It only reads: it imports the workspace plane and the store, never an effectful plane.
"""
