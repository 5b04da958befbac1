"""Request and response models of the conversions, account value, digests and ROI API (the
catalog's and parameters' are in ``catalog_schemas``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.equivalents.catalog import (
    Kind,
    Source,
)
from services.equivalents.conversions import Equivalent
from services.equivalents.roi import CONVENTIONS, ScenarioForecast
from shared.digests import ValueDigest

if TYPE_CHECKING:  # the use cases' results, which the response builders read
    from services.equivalents.handlers import AccountValueReport, Conversion, ObservedRoi

ParameterInput = float | str
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Bounds keep every forecast figure finite (a 500 is never the answer to bad input).
MAX_AMOUNT = 1e15
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]

ROUNDING = "3 significant figures, rounded half-up on the decimal digits; durations as h and min"


class StrictInput(BaseModel):
    """A request body: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --- Conversions ---------------------------------------------------------------------------


class ConvertIn(StrictInput):
    """A quantity in a unit (``1000 kWh``) or a usage metric total (``12400 transactions``)."""

    quantity: float = Field(allow_inf_nan=False, le=1e200)
    unit: str | None = Field(default=None, max_length=100)
    metric: str | None = Field(default=None, max_length=200)
    mode: str | None = Field(default=None, max_length=50)
    targets: list[str] | None = Field(default=None, max_length=100)
    params: dict[str, ParameterInput] = Field(default_factory=dict)


class CitedSource(BaseModel):
    """A source as a customer reads it: what it is and which edition, no review notes."""

    model_config = ConfigDict(from_attributes=True)

    title: str
    url: str | None
    edition: str
    notes: str

    @classmethod
    def of(cls, source: Source) -> CitedSource:
        return cls(title=source.title, url=source.url, edition=source.edition, notes=source.notes)


class TraceStepOut(BaseModel):
    # Same fields as the domain's TraceStep: read straight from it.
    model_config = ConfigDict(from_attributes=True)

    operation: Literal["convert", "multiply", "divide"]
    description: str
    factor: float | None
    factor_unit: str | None
    parameter: str | None
    source: CitedSource | None
    result: float
    result_unit: str


class EquivalentOut(BaseModel):
    """One equivalent: exact value, rounded value, the sentence to show, and how it was made.

    Everything here may be shown to the customer; the vendor's review of a factor is in the
    catalog API only.
    """

    id: str
    metric: str | None = None
    value: float
    rounded_value: float
    unit: str
    amount: str
    text: str
    label: str
    kind: Kind
    formula: str
    trace: list[TraceStepOut]
    source: CitedSource
    assumptions: str

    @classmethod
    def of(cls, equivalent: Equivalent, metric: str | None = None) -> EquivalentOut:
        return cls(
            id=equivalent.id,
            metric=metric,
            value=equivalent.value,
            rounded_value=equivalent.rounded_value,
            unit=equivalent.unit,
            amount=equivalent.amount,
            text=equivalent.text,
            label=equivalent.label,
            kind=equivalent.kind,
            formula=equivalent.formula,
            trace=[TraceStepOut.model_validate(step) for step in equivalent.trace],
            source=CitedSource.of(equivalent.source),
            assumptions=equivalent.assumptions,
        )


class ConvertOut(BaseModel):
    quantity: float
    unit: str | None
    metric: str | None
    mode: str | None
    rounding: str = ROUNDING
    equivalents: list[EquivalentOut]

    @classmethod
    def of(cls, body: ConvertIn, conversion: Conversion) -> ConvertOut:
        return cls(
            quantity=body.quantity,
            unit=body.unit,
            metric=body.metric,
            mode=conversion.mode,
            equivalents=[EquivalentOut.of(e) for e in conversion.equivalents],
        )


# --- Account value -------------------------------------------------------------------------


class MetricTotalOut(BaseModel):
    metric: str
    unit: str
    total: float
    events: int


class UnconvertedOut(BaseModel):
    metric: str
    field: str
    reason: str


class AccountValueOut(BaseModel):
    """An account's usage over a period and what it is worth in equivalents."""

    account_id: str
    period_from: date = Field(serialization_alias="from")
    period_to: date = Field(serialization_alias="to")
    totals: list[MetricTotalOut]
    action: list[EquivalentOut]
    feel_good: list[EquivalentOut]
    unconverted: list[UnconvertedOut]
    active_people: int = Field(description="Distinct people active in the period.")
    seats: int | None = Field(description="Licensed seats, when an event reported them.")
    rounding: str = ROUNDING

    @classmethod
    def of(cls, report: AccountValueReport) -> AccountValueOut:
        every = [
            EquivalentOut.of(e, m.metric) for m in report.value.by_metric for e in m.equivalents
        ]
        return cls(
            account_id=report.account_id,
            period_from=report.first,
            period_to=report.last,
            totals=[
                MetricTotalOut(metric=t.metric, unit=t.unit, total=t.total, events=events)
                for t, events in report.totals
            ],
            action=[e for e in every if e.kind == "action"],
            feel_good=[e for e in every if e.kind == "feel_good"],
            unconverted=[
                UnconvertedOut(metric=u.metric, field=u.field, reason=u.reason)
                for u in report.unconverted
            ],
            active_people=report.active_people,
            seats=report.seats,
        )


# --- ROI -----------------------------------------------------------------------------------


class RoiIn(StrictInput):
    """A business case and the adoption to weight it by: constant rates or a yearly curve."""

    annual_benefit_at_full_adoption: Amount
    one_off_costs: Amount = 0.0
    yearly_costs: dict[str, Amount | list[Amount]] = Field(default_factory=dict, max_length=50)
    years: int = Field(ge=1, le=50)
    discount_rate: float = Field(ge=-0.99, le=10, allow_inf_nan=False)
    adoption_rates: list[Rate] | None = Field(default=None, min_length=1, max_length=20)
    adoption_curve: list[Rate] | None = Field(default=None, min_length=1, max_length=50)


class YearOut(BaseModel):
    year: int
    adoption: float
    benefit: float
    cost: float
    net: float
    cumulative_net: float


class ScenarioOut(BaseModel):
    name: str
    years: list[YearOut]
    total_benefit: float
    total_cost: float
    npv: float
    roi: float | None
    payback_year: int | None

    @classmethod
    def of(cls, scenario: ScenarioForecast) -> ScenarioOut:
        return cls(
            name=scenario.name,
            years=[YearOut.model_validate(y, from_attributes=True) for y in scenario.years],
            total_benefit=scenario.total_benefit,
            total_cost=scenario.total_cost,
            npv=scenario.npv,
            roi=scenario.roi,
            payback_year=scenario.payback_year,
        )


class RoiOut(BaseModel):
    scenarios: list[ScenarioOut]
    conventions: str

    @classmethod
    def of(cls, forecasts: Sequence[ScenarioForecast]) -> RoiOut:
        return cls(scenarios=[ScenarioOut.of(s) for s in forecasts], conventions=CONVENTIONS)


class AccountRoiOut(RoiOut):
    """The forecast at the account's observed adoption."""

    account_id: str
    active_people: int
    seats: int
    observed_adoption: float
    window_from: date
    window_to: date

    @classmethod
    def of_account(cls, observed: ObservedRoi) -> AccountRoiOut:
        return cls(
            account_id=observed.account_id,
            active_people=observed.active_people,
            seats=observed.seats,
            observed_adoption=observed.adoption,
            window_from=observed.first,
            window_to=observed.last,
            scenarios=[ScenarioOut.of(observed.forecast)],
            conventions=CONVENTIONS,
        )


class DigestsOut(BaseModel):
    """An account's value digests, oldest period first."""

    account_id: str
    digests: list[ValueDigest]
