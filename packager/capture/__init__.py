"""Capturing a fitted model: its schema, metrics and provenance, from a script or a file."""
