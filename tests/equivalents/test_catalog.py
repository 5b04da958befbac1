"""The shipped catalog carries the reference factors with sources; tenant entries are checked."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.equivalents.catalog import (
    Catalog,
    Entry,
    load_shipped_catalog,
    merge_entries,
)
from services.equivalents.errors import IncompatibleUnits, InvalidCatalogEntry

# The reference table (FACTORS.md), written out independently of catalog.toml:
# entry id -> (t CO2e per unit, unit of the factor).
EPA_FACTORS = {
    "gasoline_gallons": (8.887e-3, "t CO2e / gallon"),
    "passenger_vehicle_years": (4.29, "t CO2e"),
    "vehicle_miles": (3.926866e-4, "t CO2e / mile"),  # implied by 2,546,560 miles per 1,000 t
    "coal_pounds": (9.0024e-4, "t CO2e / lb"),
    "oil_barrels": (0.43197, "t CO2e / oil_barrel"),
    "tree_seedlings": (0.060, "t CO2e"),
    "forest_acres": (0.84, "t CO2e / acre"),
    "waste_recycled_short_tons": (2.89, "t CO2e / short_ton"),
    "home_electricity_years": (4.798, "t CO2e"),
    "home_energy_years": (7.46, "t CO2e"),
    "smartphone_charges": (1.24e-5, "t CO2e"),
    "co2e_electricity_used": (3.94e-4, "t CO2e / kWh"),
    "co2e_electricity_avoided": (7.09e-4, "t CO2e / kWh"),
}
UNCONFIRMED = [
    "forest_acres",
    "waste_recycled_short_tons",
    "co2e_electricity_avoided",
    "walking_minutes_at_body_weight",
    "running_minutes_at_body_weight",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_shipped_catalog()


def tenant_entry(**overrides: Any) -> Entry:
    raw: dict[str, Any] = {
        "id": "emails_triaged_time",
        "input": "emails_triaged",
        "output": "work_time",
        "output_unit": "hour",
        "label": "hours of triage eliminated",
        "template": "{amount} of triage eliminated",
        "kind": "feel_good",
        "operation": "multiply",
        "factors": [{"label": "manual minutes per email", "value": 1.5, "unit": "minute"}],
        "source": {"title": "Acme time study", "edition": "2025-03"},
    }
    raw.update(overrides)
    return Entry.model_validate(raw)


def test_shipped_catalog_has_every_reference_epa_factor_with_its_unit(catalog: Catalog) -> None:
    for entry_id, (value, unit) in EPA_FACTORS.items():
        entry = catalog.entry(entry_id)
        assert entry is not None, entry_id
        assert len(entry.factors) == 1
        assert entry.factors[0].value == pytest.approx(value, rel=1e-12)
        assert entry.factors[0].unit == unit


def test_every_epa_factor_comes_from_one_edition(catalog: Catalog) -> None:
    editions = {catalog.entry(i).source.edition for i in EPA_FACTORS}  # type: ignore[union-attr]
    assert len(editions) == 1
    assert "2022 data" in editions.pop()


def test_every_entry_and_default_parameter_cites_a_source_with_an_edition(
    catalog: Catalog,
) -> None:
    for entry in catalog.entries:
        assert entry.source.title and entry.source.edition, entry.id
    for name, parameter in catalog.parameters.items():
        if parameter.value is not None:
            assert parameter.source is not None, name


@pytest.mark.parametrize("entry_id", UNCONFIRMED)
def test_uncertain_factors_stay_but_carry_an_unconfirmed_review(
    catalog: Catalog, entry_id: str
) -> None:
    entry = catalog.entry(entry_id)
    assert entry is not None
    assert not entry.confirmed
    review = entry.review if entry.review.status == "unconfirmed" else entry.source.review
    assert review.reason


def test_no_note_or_assumption_reads_as_a_review_comment(catalog: Catalog) -> None:
    # Doubts live in review; what a customer can read never says "check" or "unconfirmed".
    for entry in catalog.entries:
        for text in (entry.assumptions, entry.label, entry.source.notes, entry.template or ""):
            assert "check" not in text.lower() and "confirm" not in text.lower(), entry.id


def test_work_parameters_document_their_defaults(catalog: Catalog) -> None:
    params = catalog.parameters
    assert params["hours_per_fte_year"].value == 1720
    assert "2,080" in params["hours_per_fte_year"].notes  # says which convention it uses
    assert params["loaded_cost_factor"].value == pytest.approx(45.65 / 32.07, abs=0.005)
    assert params["hourly_wage"].value == 32.07
    assert params["minutes_per_transaction"].value is None  # per tenant, never guessed


def test_tenant_entry_adds_a_metric_and_keeps_shipped_entries(catalog: Catalog) -> None:
    merged = merge_entries(catalog, [tenant_entry()])
    assert merged.entry("emails_triaged_time") is not None
    assert len(merged.entries) == len(catalog.entries) + 1


def test_tenant_entry_with_a_shipped_id_replaces_the_shipped_entry(catalog: Catalog) -> None:
    walking = catalog.entry("walking_minutes")
    assert walking is not None
    slower = walking.model_copy(
        update={
            "factors": (walking.factors[0].model_copy(update={"value": 5.0}),),
            "source": walking.source,
        }
    )
    merged = merge_entries(catalog, [slower])
    replaced = merged.entry("walking_minutes")
    assert replaced is not None and replaced.factors[0].value == 5.0
    assert len(merged.entries) == len(catalog.entries)


def test_tenant_entry_without_a_source_is_rejected() -> None:
    raw = tenant_entry().model_dump()
    del raw["source"]
    with pytest.raises(ValidationError, match="source"):
        Entry.model_validate(raw)


@pytest.mark.parametrize("value", [0.0, -2.0, float("inf")])
def test_tenant_entry_factor_must_be_positive_and_finite(catalog: Catalog, value: float) -> None:
    entry = tenant_entry(factors=[{"label": "x", "value": value, "unit": "minute"}])
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "factors[0].value"


def test_tenant_entry_whose_units_do_not_give_the_output_unit_is_rejected(
    catalog: Catalog,
) -> None:
    # count * kg is a mass, not hours
    entry = tenant_entry(factors=[{"label": "x", "value": 1.5, "unit": "kg"}])
    with pytest.raises(IncompatibleUnits) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "output_unit"


def test_tenant_entry_with_an_unknown_unit_names_the_factor(catalog: Catalog) -> None:
    entry = tenant_entry(factors=[{"label": "x", "value": 1.5, "unit": "minutez"}])
    with pytest.raises(IncompatibleUnits) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "factors[0].unit"


def test_tenant_entry_feeding_a_measure_of_another_dimension_is_rejected(
    catalog: Catalog,
) -> None:
    entry = tenant_entry(output="food_energy")
    with pytest.raises(IncompatibleUnits) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "output"


def test_tenant_entry_with_an_unknown_parameter_is_rejected(catalog: Catalog) -> None:
    entry = tenant_entry(factors=[{"label": "x", "parameter": "minutes_per_email"}])
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "factors[0].parameter"


def test_tenant_entry_mixing_editions_of_one_source_is_rejected(catalog: Catalog) -> None:
    miles = catalog.entry("vehicle_miles")
    assert miles is not None
    newer = miles.source.model_copy(update={"edition": "edition built on 2023 data"})
    entry = tenant_entry(
        id="vehicle_miles_2023",
        input="co2e",
        output=None,
        output_unit="mile",
        template=None,
        operation="divide",
        factors=[{"label": "x", "value": 3.9e-4, "unit": "t CO2e / mile"}],
        source=newer,
    )
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [entry])
    assert caught.value.field == "source.edition"


def test_duration_entry_needs_a_template(catalog: Catalog) -> None:
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [tenant_entry(template=None)])
    assert caught.value.field == "template"


def test_template_may_only_name_amount_and_parameters(catalog: Catalog) -> None:
    entry = tenant_entry(template="{amount} saved by {team}")
    with pytest.raises(InvalidCatalogEntry, match="team"):
        merge_entries(catalog, [entry])


def test_entry_id_must_be_snake_case(catalog: Catalog) -> None:
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [tenant_entry(id="Emails Triaged")])
    assert caught.value.field == "id"


def test_entry_may_only_feed_a_declared_measure(catalog: Catalog) -> None:
    with pytest.raises(InvalidCatalogEntry) as caught:
        merge_entries(catalog, [tenant_entry(output="triage_time")])
    assert caught.value.field == "output"


def test_formula_reads_as_input_operation_factor(catalog: Catalog) -> None:
    miles = catalog.entry("vehicle_miles")
    cost = catalog.entry("labour_cost_avoided")
    assert miles is not None and cost is not None
    assert miles.formula() == "co2e / (0.0003926866 t CO2e / mile) -> mile"
    assert cost.formula() == "work_time * hourly_wage * loaded_cost_factor -> USD"
