"""The catalog of conversions: entry models, the shipped catalog, tenant entries merged over it.

A catalog is a graph. *Measures* are its nodes (electricity in kWh, CO2e in t CO2e, food energy
in kcal, work time in hours...; a usage metric such as ``transactions_processed`` is an implicit,
dimensionless measure). *Entries* are its edges: each takes one measure, multiplies or divides
it by the product of its factors (constants with units, or named parameters), and yields an
equivalent in ``output_unit``; an entry with ``output`` also feeds that measure, so chains such as
kWh -> t CO2e -> miles follow from the data. ``catalog.toml`` ships the defaults; tenants add or
replace entries by id.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.equivalents.errors import IncompatibleUnits, InvalidCatalogEntry
from services.equivalents.units import is_convertible, is_duration, parse_unit

Kind = Literal["action", "feel_good"]
Operation = Literal["multiply", "divide"]
Display = Literal["significant", "integer"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Review(_Frozen):
    """Whether we confirmed a figure against its source edition: for the vendor, never part of
    what a customer reads."""

    status: Literal["confirmed", "unconfirmed"] = "confirmed"
    reason: str = Field(default="", max_length=2000)


CONFIRMED = Review()


class Source(_Frozen):
    """Where a figure comes from: a neutral third party where possible.

    ``notes`` are customer-readable facts about the source; doubts go in ``review``.
    """

    title: str = Field(min_length=1)
    url: str | None = None
    edition: str = Field(min_length=1, description="Edition or date of the figures used.")
    notes: str = ""
    review: Review = CONFIRMED


class Measure(_Frozen):
    """A node of the catalog graph: what is measured and in which unit entries expect it."""

    unit: str
    label: str
    request_units: tuple[str, ...] = Field(
        default=(), description="Units that, alone in a request, mean this measure (kWh, MWh)."
    )


class Parameter(_Frozen):
    """A chain parameter; tenant settings or the request override ``value``."""

    unit: str
    label: str
    value: float | None = Field(default=None, description="Documented default; None: required.")
    source: Source | None = None
    notes: str = ""


class Factor(_Frozen):
    """One factor of an entry's formula: a sourced constant, or a named parameter."""

    label: str
    value: float | None = None
    unit: str = ""
    parameter: str | None = None


class Entry(_Frozen):
    """One conversion: ``input`` measure (op) product of ``factors`` = value in ``output_unit``."""

    id: str
    input: str
    output_unit: str
    label: str = Field(description='Noun phrase after the number: "miles not driven".')
    kind: Kind
    operation: Operation
    factors: tuple[Factor, ...] = Field(min_length=1)
    source: Source
    output: str | None = Field(default=None, description="Measure this entry feeds, if any.")
    mode: str | None = Field(default=None, description="Applies only when a request picks it.")
    mode_labels: dict[str, str] = Field(default_factory=dict)
    template: str | None = Field(
        default=None, description='Sentence with {amount} and parameter names: "{amount} of ..."'
    )
    assumptions: str = ""
    notes: str = Field(default="", description="For the vendor: how a figure was derived.")
    review: Review = CONFIRMED
    display: Display = Field(
        default="significant",
        description="significant: 3 significant figures; integer: whole units from 1,000 on, "
        "as the source's calculator shows counts (below, 3 significant figures).",
    )

    @property
    def confirmed(self) -> bool:
        """Whether both the entry and its source are confirmed for the edition used."""
        return self.review.status == "confirmed" and self.source.review.status == "confirmed"

    def formula(self) -> str:
        """The formula as text, e.g. ``co2e / (0.0003926866 t CO2e / mile) -> mile``: every
        factor with all the digits it is computed with."""
        symbol = " * " if self.operation == "multiply" else " / "
        terms = [
            f.parameter or f"({f.value:.10g} {f.unit})".replace(" )", ")") for f in self.factors
        ]
        return f"{self.input}{symbol}{symbol.join(terms)} -> {self.output_unit or 'count'}"


class Catalog(_Frozen):
    """Measures, parameters and entries of one catalog version."""

    version: str
    measures: dict[str, Measure]
    parameters: dict[str, Parameter]
    entries: tuple[Entry, ...]

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id, if any."""
        return next((e for e in self.entries if e.id == entry_id), None)

    def measure(self, measure_id: str) -> Measure:
        """A declared measure, or the implicit dimensionless measure of a usage metric."""
        declared = self.measures.get(measure_id)
        return declared or Measure(unit="", label=measure_id.replace("_", " "))


def load_shipped_catalog() -> Catalog:
    """Read and validate ``catalog.toml`` shipped in this package."""
    text = resources.files("services.equivalents").joinpath("catalog.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text))


def parse_catalog(document: Mapping[str, Any]) -> Catalog:
    """Build a catalog from its TOML document; entries name a source by key in ``[sources]``."""
    sources = {key: Source.model_validate(value) for key, value in document["sources"].items()}

    def resolve(raw: Mapping[str, Any]) -> dict[str, Any]:
        resolved = dict(raw)
        if isinstance(raw.get("source"), str):
            resolved["source"] = sources[raw["source"]]
        return resolved

    base = Catalog(
        version=document["version"],
        measures={k: Measure.model_validate(v) for k, v in document["measures"].items()},
        parameters={
            k: Parameter.model_validate(resolve(v)) for k, v in document["parameters"].items()
        },
        entries=(),
    )
    return merge_entries(base, (Entry.model_validate(resolve(raw)) for raw in document["entries"]))


def merge_entries(base: Catalog, entries: Iterable[Entry]) -> Catalog:
    """``base`` with ``entries`` added; an entry whose id exists replaces the base one.

    Every entry is validated against the merged catalog, so a tenant entry that mixes editions
    of one source, or chains into a measure with the wrong unit, is rejected here.
    """
    catalog = overlay(base, entries)
    for entry in catalog.entries:
        validate_entry(entry, catalog)
    return catalog


def overlay(base: Catalog, entries: Iterable[Entry]) -> Catalog:
    """``base`` with ``entries`` added or replacing the base entry of the same id, unchecked.

    For entries validated when they were stored (a tenant's), so reading them back is cheap.
    """
    merged = {e.id: e for e in base.entries}
    for entry in entries:
        merged[entry.id] = entry
    return base.model_copy(update={"entries": tuple(merged.values())})


def validate_entry(entry: Entry, catalog: Catalog) -> None:
    """Check one entry against ``catalog``; raise an error naming the entry's field at fault."""
    if not _IDENTIFIER.match(entry.id):
        raise InvalidCatalogEntry("id", f"{entry.id!r} must be snake_case")
    if entry.input not in catalog.measures and not _IDENTIFIER.match(entry.input):
        raise InvalidCatalogEntry("input", f"{entry.input!r} is neither a measure nor a metric")
    if entry.output is not None and entry.output not in catalog.measures:
        raise InvalidCatalogEntry("output", f"{entry.output!r} is not a declared measure")
    _check_factors(entry, catalog)
    _check_units(entry, catalog)
    _check_template(entry, catalog)
    _check_edition(entry, catalog)


def _check_factors(entry: Entry, catalog: Catalog) -> None:
    for index, factor in enumerate(entry.factors):
        field = f"factors[{index}]"
        if (factor.value is None) == (factor.parameter is None):
            raise InvalidCatalogEntry(field, "give exactly one of value or parameter")
        if factor.parameter is not None and factor.parameter not in catalog.parameters:
            raise InvalidCatalogEntry(f"{field}.parameter", f"unknown {factor.parameter!r}")
        if factor.value is not None and not (math.isfinite(factor.value) and factor.value > 0):
            raise InvalidCatalogEntry(f"{field}.value", "a factor must be finite and > 0")


def _factor_unit(factor: Factor, catalog: Catalog) -> str:
    return catalog.parameters[factor.parameter].unit if factor.parameter else factor.unit


def _check_units(entry: Entry, catalog: Catalog) -> None:
    result = parse_unit(catalog.measure(entry.input).unit, "input")
    for index, factor in enumerate(entry.factors):
        unit = parse_unit(_factor_unit(factor, catalog), f"factors[{index}].unit")
        result = result * unit if entry.operation == "multiply" else result / unit
    output = parse_unit(entry.output_unit, "output_unit")
    if not is_convertible(result, output):
        raise IncompatibleUnits(
            "output_unit",
            f"{entry.input} {entry.operation} factors gives {result.dimensionality}, "
            f"not {output.dimensionality} of {entry.output_unit!r}",
        )
    if entry.output is not None:
        measure_unit = parse_unit(catalog.measures[entry.output].unit, "output")
        if not is_convertible(output, measure_unit):
            raise IncompatibleUnits("output", f"{entry.output!r} is measured in another dimension")


def _check_template(entry: Entry, catalog: Catalog) -> None:
    if entry.template is None:
        if is_duration(entry.output_unit):
            raise InvalidCatalogEntry("template", "durations need a template with {amount}")
        return
    names = {name for _, name, _, _ in string.Formatter().parse(entry.template) if name}
    if "amount" not in names:
        raise InvalidCatalogEntry("template", "the template must contain {amount}")
    unknown = names - {"amount"} - set(catalog.parameters)
    if unknown:
        raise InvalidCatalogEntry("template", f"unknown placeholders {sorted(unknown)}")


def _check_edition(entry: Entry, catalog: Catalog) -> None:
    # Factors of one publication only reproduce it when they come from the same edition.
    for other in catalog.entries:
        same_title = other.source.title == entry.source.title
        if same_title and other.source.edition != entry.source.edition:
            raise InvalidCatalogEntry(
                "source.edition",
                f"{entry.id} uses edition {entry.source.edition!r} of {entry.source.title!r} "
                f"but {other.id} uses {other.source.edition!r}; use one edition together",
            )
