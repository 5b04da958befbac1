"""Ingest: the front door for events.

Owns authentication of write keys, validation and normalisation of incoming events (native API,
Segment-compatible tracking API, raw Kafka topic) into ``shared.events.Envelope``, per-tenant
rate limits and size limits. Consumes ``ampm.ingest.raw``; produces ``ampm.events`` and
``ampm.events.dlq`` (messages it had to drop, with the reason).
"""
