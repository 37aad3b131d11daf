"""The TUI: pilot tests of behaviour and snapshots of every screen and modal."""
