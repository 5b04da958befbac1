"""Contracts and plumbing used by at least two ampm services.

Event and signal envelopes, topic names, Kafka and database factories, settings base,
tenancy and API-key auth, the JSON error body, ops endpoints and logging setup.
`shared.local` runs a real Kafka broker and PostgreSQL server on this machine for `make dev`
and the tests.
"""
