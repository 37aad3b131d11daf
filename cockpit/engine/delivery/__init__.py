"""Delivery plane (SPEC 11.3): taking a complete WP's verified head to where it belongs
(merge queue, push, pull request), with its provenance attestation."""
