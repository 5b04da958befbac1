"""Tenancy: tenants, their API keys and how a request proves which tenant it acts for.

``keys`` issues and hashes keys, ``tables`` and ``store`` keep them, ``auth`` resolves a request's
key to its tenant, ``api`` is the admin API that creates tenants and manages keys.
"""
