"""Contracts and plumbing used by at least two ampm services.

Event and signal envelopes, topic names, Kafka and database factories, settings base,
tenancy and API-key auth, the JSON error body, ops endpoints and logging setup. Nothing here
imports ``services``: what knows every service (the ``ampm`` command, migrations, the local
broker and PostgreSQL of ``make dev`` and the tests) is the ``ampm`` package.
"""
