"""An account's value over a period: usage totals per metric turned into equivalents.

Feel-good equivalents show value already received (they drive renewals); action equivalents
prompt a decision. A metric that cannot be converted (no entry takes it, or a tenant parameter
is missing) is reported with the reason instead of failing the whole account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.equivalents.catalog import Catalog
from services.equivalents.conversions import ConversionRequest, Equivalent, convert_request
from services.equivalents.errors import EquivalentsError
from services.equivalents.parameters import ParameterInput
from services.equivalents.units import convert, is_convertible, make_quantity, parse_unit


@dataclass(frozen=True)
class MetricValue:
    """The equivalents of one metric's total over the period."""

    metric: str
    total: float
    equivalents: tuple[Equivalent, ...]
    unit: str | None = None


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
    units: Mapping[str, str] | None = None,
) -> AccountValue:
    """Convert each metric total through ``catalog`` with the tenant's ``params``.

    ``totals`` maps a metric (a measure id such as ``electricity`` in its catalog unit, or a usage
    metric such as ``transactions_processed``) to its total; ``modes`` picks the mode per metric
    (``{"electricity": "avoided"}``). ``units`` gives a metric's unit when it is not the catalog
    unit; a metric the catalog does not name is then converted from its unit alone, so a
    ``solar_generation`` total in kWh reaches the electricity chain.
    """
    known = set(catalog.measures) | {e.input for e in catalog.entries}
    by_metric: list[MetricValue] = []
    unconverted: list[Unconverted] = []
    for metric, total in totals.items():
        unit = (units or {}).get(metric) or None
        request = ConversionRequest(
            quantity=total,
            unit=unit,
            metric=metric if metric in known or unit is None else None,
            mode=(modes or {}).get(metric),
        )
        try:
            equivalents = convert_request(request, catalog, params)
        except EquivalentsError as error:
            unconverted.append(Unconverted(metric, error.field, error.reason))
            continue
        by_metric.append(MetricValue(metric, total, equivalents, unit))
    every = [e for value in by_metric for e in value.equivalents]
    return AccountValue(
        action=tuple(e for e in every if e.kind == "action"),
        feel_good=tuple(e for e in every if e.kind == "feel_good"),
        by_metric=tuple(by_metric),
        unconverted=tuple(unconverted),
    )


@dataclass(frozen=True)
class MetricTotal:
    """A metric's total in one unit as events reported it ('' or a non-unit label: a count)."""

    metric: str
    unit: str
    total: float


@dataclass(frozen=True)
class CombinedTotals:
    """One total per metric, in one unit, ready for ``account_value``."""

    totals: dict[str, float]
    units: dict[str, str]
    unconverted: tuple[Unconverted, ...]


def combine_units(rows: Iterable[MetricTotal]) -> CombinedTotals:
    """Add up each metric's totals across the units its events used.

    A label pint does not know (``"transactions"``) counts as a plain number. Totals in
    convertible units (Wh and kWh) are expressed in the first unit seen; a metric reported in
    units of different dimensions cannot be added up and is reported as unconverted.
    """
    per_metric: dict[str, list[MetricTotal]] = {}
    for row in rows:
        per_metric.setdefault(row.metric, []).append(row)
    totals: dict[str, float] = {}
    units: dict[str, str] = {}
    unconverted: list[Unconverted] = []
    for metric, metric_rows in per_metric.items():
        first = _physical_unit(metric_rows[0].unit)
        total = 0.0
        for row in metric_rows:
            unit = _physical_unit(row.unit)
            if not is_convertible(parse_unit(unit, "unit"), parse_unit(first, "unit")):
                unconverted.append(
                    Unconverted(metric, "unit", f"events used both {first!r} and {unit!r}")
                )
                break
            total += float(convert(make_quantity(row.total, unit, "unit"), first, "unit").magnitude)
        else:
            totals[metric] = total
            if first:
                units[metric] = first
    return CombinedTotals(totals, units, tuple(unconverted))


def _physical_unit(unit: str) -> str:
    try:
        parse_unit(unit, "unit")
    except EquivalentsError:
        return ""
    return unit
