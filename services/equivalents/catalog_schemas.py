"""Request and response models of the catalog and parameters API (``catalog_edits``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

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
from services.equivalents.digests import DigestPreferences
from services.equivalents.parameters import resolve_parameters
from services.equivalents.schemas import ParameterInput, StrictInput

if TYPE_CHECKING:  # the use cases' results, which the response builders read
    from services.equivalents.catalog_edits import (
        CatalogEntry,
        TenantCatalogView,
        TenantParameters,
    )


# --- Catalog -------------------------------------------------------------------------------


READ_ONLY_FIELDS = frozenset({"formula", "origin", "overrides_shipped"})


class EntryIn(StrictInput):
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


class SettingsIn(StrictInput):
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
