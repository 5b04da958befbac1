"""Request and response models of the equivalents API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.equivalents.catalog import (
    CONFIRMED,
    Display,
    Entry,
    Factor,
    Kind,
    Measure,
    Operation,
    Parameter,
    Review,
    Source,
)
from services.equivalents.conversions import Equivalent
from services.equivalents.digests import DigestPreferences
from services.equivalents.parameters import resolve_parameters
from services.equivalents.roi import CONVENTIONS, ScenarioForecast
from shared.digests import ValueDigest

if TYPE_CHECKING:  # the use cases' results, which the response builders read
    from services.equivalents.catalog_edits import (
        CatalogEntry,
        TenantCatalogView,
        TenantParameters,
    )
    from services.equivalents.handlers import AccountValueReport, Conversion, ObservedRoi

ParameterInput = float | str
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Bounds keep every forecast figure finite (a 500 is never the answer to bad input).
MAX_AMOUNT = 1e15
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]

ROUNDING = "3 significant figures, rounded half-up on the decimal digits; durations as h and min"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Catalog -------------------------------------------------------------------------------


READ_ONLY_FIELDS = frozenset({"formula", "origin", "overrides_shipped"})


class EntryIn(_Input):
    """A tenant-defined conversion; ``id`` comes from the path on PUT."""

    id: str | None = Field(default=None, max_length=100)
    input: str = Field(min_length=1, max_length=200)
    output_unit: str = Field(max_length=100)
    label: str = Field(min_length=1, max_length=200)
    kind: Kind
    operation: Operation
    factors: list[Factor] = Field(min_length=1, max_length=10)
    source: Source
    output: str | None = None
    mode: str | None = None
    mode_labels: dict[str, str] = Field(default_factory=dict)
    template: str | None = Field(default=None, max_length=300)
    assumptions: str = Field(default="", max_length=2000)
    notes: str = Field(default="", max_length=2000)
    review: Review = CONFIRMED
    display: Display = "significant"
    # What a GET answers beside the entry, so an entry read can be PUT back unchanged: the
    # service computes these and ignores what is sent.
    formula: str | None = Field(default=None, description="Read-only: ignored.")
    origin: Literal["shipped", "tenant"] | None = Field(default=None, description="Read-only.")
    overrides_shipped: bool | None = Field(default=None, description="Read-only: ignored.")

    def to_entry(self, entry_id: str) -> Entry:
        """The domain entry with ``entry_id``."""
        fields = self.model_dump(exclude={"id", *READ_ONLY_FIELDS})
        return Entry.model_validate({**fields, "id": entry_id})


class EntryOut(BaseModel):
    """A catalog entry with its formula, and whether the tenant defined it."""

    id: str
    input: str
    output: str | None
    output_unit: str
    label: str
    kind: Kind
    operation: Operation
    factors: list[Factor]
    formula: str
    source: Source
    mode: str | None
    mode_labels: dict[str, str]
    template: str | None
    assumptions: str
    notes: str
    review: Review
    display: Display
    origin: Literal["shipped", "tenant"]
    overrides_shipped: bool

    @classmethod
    def of(cls, found: CatalogEntry) -> EntryOut:
        entry = found.entry
        return cls(
            **entry.model_dump(exclude={"factors", "source"}),
            factors=list(entry.factors),
            source=entry.source,
            formula=entry.formula(),
            origin="tenant" if found.tenant_defined else "shipped",
            overrides_shipped=found.overrides_shipped,
        )


class CatalogOut(BaseModel):
    """The tenant's catalog: shipped entries with the tenant's merged over them."""

    version: str
    measures: dict[str, Measure]
    parameters: dict[str, Parameter]
    entries: list[EntryOut]

    @classmethod
    def of(cls, view: TenantCatalogView) -> CatalogOut:
        return cls(
            version=view.catalog.version,
            measures=view.catalog.measures,
            parameters=view.catalog.parameters,
            entries=[EntryOut.of(found) for found in view.entries],
        )


# --- Parameters ----------------------------------------------------------------------------


class SettingsIn(_Input):
    """Tenant parameters (a number in the parameter's unit, or a quantity like "154 lb")."""

    params: dict[str, ParameterInput] = Field(default_factory=dict)
    modes: dict[str, str] = Field(
        default_factory=dict,
        description='Mode per metric for account value, e.g. {"solar_generation": "avoided"}.',
    )
    digest: DigestPreferences | None = Field(
        default=None, description="Cadence and content of value digests; defaults when left out."
    )


class ResolvedParameter(BaseModel):
    name: str
    label: str
    value: float
    unit: str
    origin: Literal["default", "tenant", "request"]
    source: Source | None


class SettingsOut(BaseModel):
    params: dict[str, ParameterInput]
    modes: dict[str, str]
    digest: DigestPreferences
    resolved: list[ResolvedParameter]

    @classmethod
    def of(cls, parameters: TenantParameters) -> SettingsOut:
        catalog, settings = parameters.catalog, parameters.settings
        resolved = resolve_parameters(catalog, settings.params, {})
        return cls(
            params=settings.params,
            modes=settings.modes,
            digest=DigestPreferences.model_validate(settings.digest or {}),
            resolved=[
                ResolvedParameter(
                    name=name,
                    label=catalog.parameters[name].label,
                    value=value.value,
                    unit=value.unit,
                    origin=value.origin,
                    source=value.source,
                )
                for name, value in sorted(resolved.items())
            ],
        )


# --- Conversions ---------------------------------------------------------------------------


class ConvertIn(_Input):
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


class RoiIn(_Input):
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
