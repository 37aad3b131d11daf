"""Reports plane: what a reader sees, computed from the store. The board and a WP's status
(`board`), packet lineage (`lineage`), the audit chain's verification and checkpoints
(`audit`), the gate's metrics (`metrics`), the board's pages for the TUI (`pages`) and
the reviewer's report on one WP (`report`, rendered by `report_md` and `report_html`).

It only reads: it imports the workspace plane and the store, never an effectful plane.
"""
