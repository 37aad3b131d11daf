"""Entries: parsing, the entry models, safe YAML; hostile files."""
