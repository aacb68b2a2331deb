"""Artifacts given to data subjects (extracts, certificates): encrypted at rest, fetched by one-time links."""
