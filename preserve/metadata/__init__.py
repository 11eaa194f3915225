"""Descriptive and provenance metadata written into the bag."""
