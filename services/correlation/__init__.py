"""The correlation service: AM/PM measurement, success plans, correlations, risk signals, health.

Owns (tables ``corr_*``, migration branch ``correlation``): accounts and people, metric buckets,
processed event ids, pending events of unknown persons, success plans, signals, health snapshots
and the signal outbox. Consumes the events topic and folds each account's events into period
buckets (``buckets``, ``batch``, ``intake``); holds success plans (``plans``); turns buckets into
series (``series``); learns which activities move performance per account and per cohort
(``correlations``); projects objectives to their deadline (``projection``); decides risk signals
(``risk``) and health (``health``) per account (``evaluation``, ``reevaluation``); produces
``SignalChange`` records on the signals topic through the outbox (``relay``).
"""
