"""Textual screens and modals of the cockpit TUI. They gather input, call one engine
function, and render the plain result; no rule is decided here."""
