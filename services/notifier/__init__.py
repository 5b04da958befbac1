"""The notifier service: turns signals into next-junction recommendations and delivers them.

Consumes ``SignalChange`` messages from the signals topic (``shared/signals.py``), derives a
GPS-style recommendation for each (``recommendations.py``), and pushes recommendations and signal
changes to the tenant's webhook endpoints, signed per Standard Webhooks (``signing.py``), filtered
by event type (``filters.py``), retried on a schedule with jitter and dead-lettered after the last
attempt (``schedule.py``), and only to public addresses (``ssrf.py``, ``resolver.py``).
"""
