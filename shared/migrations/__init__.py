"""Alembic environment: one migration history for every service's tables."""
