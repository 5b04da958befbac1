"""Errors of the correlation service, as the shared API errors they answer with.

ApiError (shared.errors)
├── AccountNotFound      404  no such account for this tenant
├── PlanNotFound         404  the account has no success plan
├── SignalNotFound       404  no such signal on this account
├── HealthNotFound       404  the account has not been evaluated yet
└── InvalidPlan          422  the plan breaks a rule (field says which)
"""

from __future__ import annotations

from shared.errors import NotFound, Unprocessable


class AccountNotFound(NotFound):
    default_code = "account_not_found"


class PlanNotFound(NotFound):
    default_code = "plan_not_found"


class SignalNotFound(NotFound):
    default_code = "signal_not_found"


class HealthNotFound(NotFound):
    default_code = "health_not_found"


class InvalidPlan(Unprocessable):
    default_code = "invalid_plan"
