"""The equivalents service: usage turned into units customers care about, and ROI forecasts.

Owns the conversion catalog (``catalog.toml`` shipped here, plus per-tenant entries and
parameters), per-account value over a period, and adoption-weighted ROI forecasts. Consumes
usage events from ``ampm.events``; answers conversions and forecasts over REST.

Pure domain: ``catalog`` (entries, load, merge, validate), ``units`` (the pint registry),
``conversions`` (chains with traces), ``presentation`` (rounding, durations), ``account_value``
(period totals -> equivalents), ``roi`` (business cases), ``errors``.
"""
