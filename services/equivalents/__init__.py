"""The equivalents service: usage turned into units customers care about, and ROI forecasts.

Owns the conversion catalog (``catalog.toml`` shipped here, plus per-tenant entries and
parameters), per-account daily usage totals, active people and licensed seats, per-account value
over a period, and adoption-weighted ROI forecasts. Consumes ``ampm.events`` (usage events and
``account.identified`` lifecycle events; see ``usage``), dead-letters malformed messages to
``ampm.events.dlq``, produces nothing else; answers conversions and forecasts over REST.

Pure domain: ``catalog`` (entries, load, merge, validate), ``units`` (the pint registry),
``conversions`` (chains with traces), ``presentation`` (rounding, durations), ``account_value``
(period totals -> equivalents), ``roi`` (business cases), ``usage`` (which events count and how
a batch becomes daily rows), ``errors``. Around it: ``handlers`` (use cases), ``store``,
``tables``, ``schemas``, ``api``, ``consumer``, ``app``.
"""
