"""The four ampm services: ingest, correlation, equivalents, notifier."""
