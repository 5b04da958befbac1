"""The correlation service: AM/PM measurement, success plans, correlations, risk signals, health.

Consumes the events topic and folds each account's activity and performance events into period
buckets (``buckets``); holds success plans (``plans``); turns buckets into series (``series``);
learns which activities move performance per account and per cohort (``correlations``); projects
objectives to their deadline (``projection``); decides risk signals (``risk``) and an account's
health score (``health``); publishes signal changes on the signals topic.
"""
