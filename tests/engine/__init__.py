"""Tests of the engine, one folder per plane (cockpit/engine/<plane>/)."""
