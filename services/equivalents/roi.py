"""Business cases weighted by effective adoption: what the ROI looks like at 30%, 50%, 70%.

Conventions (stated here once, used by every forecast):

- Year ``t`` runs 1..``years``. One-off costs are paid at t = 0; yearly costs and the realized
  benefit ``annual_benefit_at_full_adoption * adoption[t]`` fall at the end of year t.
- ``net[t] = benefit[t] - cost[t]``; ``cumulative_net[t] = -one_off_costs + sum(net[1..t])``.
- NPV = ``-one_off_costs + sum(net[t] / (1 + discount_rate) ** t)``.
- ROI = ``(total benefit - total cost) / total cost``, undiscounted, with total cost = one-off +
  every yearly cost; None when nothing is spent.
- Payback year: the first t with ``cumulative_net[t] >= 0``; None when the case never pays back
  within ``years``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from services.equivalents.errors import InvalidParameter

CONVENTIONS = (
    "One-off costs fall at t=0; yearly costs and the realized benefit (benefit at full adoption "
    "x adoption of the year) at the end of each year t. NPV = -one_off + sum(net[t] / (1 + "
    "discount_rate)^t). ROI = (total benefit - total cost) / total cost, undiscounted (null when "
    "nothing is spent). Payback year: the first year whose cumulative net is >= 0 (null: never)."
)


@dataclass(frozen=True)
class BusinessCase:
    """Benefit at full adoption, costs and horizon; yearly costs are named (licences, ...)."""

    annual_benefit_at_full_adoption: float
    one_off_costs: float
    years: int
    discount_rate: float
    yearly_costs: Mapping[str, float | Sequence[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.years < 1:
            raise InvalidParameter("years", "must be at least 1")
        if not (math.isfinite(self.discount_rate) and self.discount_rate > -1):
            raise InvalidParameter("discount_rate", "must be a finite rate above -1 (e.g. 0.08)")
        _non_negative("annual_benefit_at_full_adoption", self.annual_benefit_at_full_adoption)
        _non_negative("one_off_costs", self.one_off_costs)
        for name in self.yearly_costs:
            for amount in self.yearly_cost(name):
                _non_negative(f"yearly_costs.{name}", amount)

    def yearly_cost(self, name: str) -> tuple[float, ...]:
        """The named cost for each year; a single number repeats every year."""
        given = self.yearly_costs[name]
        if isinstance(given, int | float):
            return (float(given),) * self.years
        if len(given) != self.years:
            raise InvalidParameter(f"yearly_costs.{name}", f"needs {self.years} yearly amounts")
        return tuple(float(amount) for amount in given)

    def costs_per_year(self) -> tuple[float, ...]:
        """All yearly costs added up, year by year."""
        per_cost = [self.yearly_cost(name) for name in self.yearly_costs]
        return tuple(sum(year) for year in zip(*per_cost, strict=True)) or (0.0,) * self.years


@dataclass(frozen=True)
class AdoptionScenario:
    """Effective adoption (0..1) for each year of the case."""

    name: str
    adoption: tuple[float, ...]

    def __post_init__(self) -> None:
        for index, rate in enumerate(self.adoption):
            if not (math.isfinite(rate) and 0 <= rate <= 1):
                raise InvalidParameter(f"adoption[{index}]", "must be between 0 and 1")


@dataclass(frozen=True)
class YearForecast:
    """One year of a scenario."""

    year: int
    adoption: float
    benefit: float
    cost: float
    net: float
    cumulative_net: float


@dataclass(frozen=True)
class ScenarioForecast:
    """A scenario's years, NPV, ROI and payback year (see the module docstring)."""

    name: str
    years: tuple[YearForecast, ...]
    total_benefit: float
    total_cost: float
    npv: float
    roi: float | None
    payback_year: int | None


def constant_scenarios(rates: Iterable[float], years: int) -> tuple[AdoptionScenario, ...]:
    """One scenario per constant adoption rate, named like ``"50%"``."""
    return tuple(AdoptionScenario(f"{rate:.0%}", (rate,) * years) for rate in rates)


def forecast(
    case: BusinessCase, scenarios: Iterable[AdoptionScenario]
) -> tuple[ScenarioForecast, ...]:
    """Forecast every scenario of ``case``."""
    return tuple(forecast_scenario(case, scenario) for scenario in scenarios)


def forecast_scenario(case: BusinessCase, scenario: AdoptionScenario) -> ScenarioForecast:
    """Realized benefit, net and cumulative net per year, NPV, ROI and payback of one scenario."""
    if len(scenario.adoption) != case.years:
        raise InvalidParameter("adoption", f"{scenario.name}: needs {case.years} yearly rates")
    costs = case.costs_per_year()
    benefits = [case.annual_benefit_at_full_adoption * rate for rate in scenario.adoption]
    nets = [benefit - cost for benefit, cost in zip(benefits, costs, strict=True)]
    cumulative = list(accumulate(nets, initial=-case.one_off_costs))[1:]
    years = tuple(
        YearForecast(t, rate, benefit, cost, net, running)
        for t, rate, benefit, cost, net, running in zip(
            range(1, case.years + 1),
            scenario.adoption,
            benefits,
            costs,
            nets,
            cumulative,
            strict=True,
        )
    )
    npv = -case.one_off_costs + sum(
        net / (1 + case.discount_rate) ** t for t, net in enumerate(nets, start=1)
    )
    total_benefit = sum(benefits)
    total_cost = case.one_off_costs + sum(costs)
    roi = (total_benefit - total_cost) / total_cost if total_cost > 0 else None
    payback = next((year.year for year in years if year.cumulative_net >= 0), None)
    return ScenarioForecast(scenario.name, years, total_benefit, total_cost, npv, roi, payback)


def observed_adoption(active_users: int, licensed_seats: int | None) -> float | None:
    """Share of licensed seats in active use, clamped to 0..1; None when seats are unknown."""
    if active_users < 0:
        raise InvalidParameter("active_users", "must be >= 0")
    if licensed_seats is None or licensed_seats <= 0:
        return None
    return min(1.0, active_users / licensed_seats)


def _non_negative(field_name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidParameter(field_name, "must be a finite amount >= 0")
