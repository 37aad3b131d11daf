"""The work package screen's Changes tab: the WP's change (files with scope marks, the
diff, virtual and highlighted; `view`) and review comments drafted on its lines
(`drafts`, kept by the app for the session)."""
