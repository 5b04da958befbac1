"""An account's value over a period: usage totals per metric turned into equivalents.

Feel-good equivalents show value already received (they drive renewals); action equivalents
prompt a decision. A metric that cannot be converted (no entry takes it, or a tenant parameter
is missing) is reported with the reason instead of failing the whole account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.equivalents.catalog import Catalog
from services.equivalents.conversions import ConversionRequest, Equivalent, convert_request
from services.equivalents.errors import EquivalentsError
from services.equivalents.parameters import ParameterInput


@dataclass(frozen=True)
class MetricValue:
    """The equivalents of one metric's total over the period."""

    metric: str
    total: float
    equivalents: tuple[Equivalent, ...]


@dataclass(frozen=True)
class Unconverted:
    """A metric left out of the account value, and why (``field`` is the parameter at fault)."""

    metric: str
    field: str
    reason: str


@dataclass(frozen=True)
class AccountValue:
    """Equivalents of a period, split by kind, with the per-metric detail."""

    action: tuple[Equivalent, ...]
    feel_good: tuple[Equivalent, ...]
    by_metric: tuple[MetricValue, ...]
    unconverted: tuple[Unconverted, ...]


def account_value(
    totals: Mapping[str, float],
    catalog: Catalog,
    params: Mapping[str, ParameterInput],
    modes: Mapping[str, str] | None = None,
) -> AccountValue:
    """Convert each metric total through ``catalog`` with the tenant's ``params``.

    ``totals`` maps a metric (a measure id such as ``electricity`` in its catalog unit, or a usage
    metric such as ``transactions_processed``) to its total; ``modes`` picks the mode per metric
    (``{"electricity": "avoided"}``).
    """
    by_metric: list[MetricValue] = []
    unconverted: list[Unconverted] = []
    for metric, total in totals.items():
        request = ConversionRequest(quantity=total, metric=metric, mode=(modes or {}).get(metric))
        try:
            equivalents = convert_request(request, catalog, params)
        except EquivalentsError as error:
            unconverted.append(Unconverted(metric, error.field, error.reason))
            continue
        by_metric.append(MetricValue(metric, total, equivalents))
    every = [e for value in by_metric for e in value.equivalents]
    return AccountValue(
        action=tuple(e for e in every if e.kind == "action"),
        feel_good=tuple(e for e in every if e.kind == "feel_good"),
        by_metric=tuple(by_metric),
        unconverted=tuple(unconverted),
    )
