"""Chains through the shipped catalog, checked against arithmetic done by hand in each test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.equivalents.catalog import Catalog, Entry, load_shipped_catalog, merge_entries
from services.equivalents.conversions import (
    ConversionRequest,
    Equivalent,
    convert_request,
)
from services.equivalents.errors import IncompatibleUnits, InvalidParameter, UnknownEquivalent
from services.equivalents.parameters import resolve_parameters
from services.equivalents.units import parse_unit

EPA_TITLE = "US EPA Greenhouse Gas Equivalencies Calculator: Calculations and References"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_shipped_catalog()


def by_id(results: tuple[Equivalent, ...]) -> dict[str, Equivalent]:
    return {e.id: e for e in results}


# --- EPA calculator ------------------------------------------------------------------------

# The EPA Greenhouse Gas Equivalencies Calculator's published output for 1,000 t CO2e
# (FACTORS.md), as the calculator shows it.
CALCULATOR_1000_T = {
    "passenger_vehicle_years": 233,
    "vehicle_miles": 2_546_560,
    "gasoline_gallons": 112_524,
    "coal_pounds": 1_110_815,
    "home_energy_years": 134,
    "home_electricity_years": 208,
    "oil_barrels": 2_315,
}


@pytest.mark.parametrize(("entry_id", "published"), CALCULATOR_1000_T.items())
def test_1000_t_co2e_reproduces_the_calculator(
    catalog: Catalog, entry_id: str, published: int
) -> None:
    (result,) = convert_request(ConversionRequest(1000, "t CO2e", targets=(entry_id,)), catalog)
    # Within 0.1% before display rounding (the published figure is itself rounded to a unit).
    assert abs(result.value - published) <= max(1e-3 * published, 0.5)
    # Displayed as the calculator shows it, never further from it than half a shown unit.
    assert abs(result.rounded_value - published) <= 0.5
    assert result.amount == f"{published:,}"


def test_customer_facing_equivalents_carry_no_review_notes(catalog: Catalog) -> None:
    results = convert_request(ConversionRequest(1000, "kWh", mode="avoided"), catalog)
    assert not by_id(results)["co2e_electricity_avoided"].confirmed  # reviewed, not shown
    for equivalent in results:
        shown = [equivalent.text, equivalent.assumptions, equivalent.source.notes]
        assert not any("check" in text.lower() for text in shown), equivalent.id


# --- PACE ----------------------------------------------------------------------------------


def test_420_kcal_is_75_minutes_walking_and_42_minutes_running(catalog: Catalog) -> None:
    results = by_id(convert_request(ConversionRequest(420, "kcal"), catalog))
    walking, running = results["walking_minutes"], results["running_minutes"]
    assert walking.value == pytest.approx(420 / 5.6)  # = 75 min
    assert walking.value == pytest.approx(75)
    assert running.value == pytest.approx(420 / 10)  # = 42 min
    assert walking.text == "about 1 h 15 min of brisk walking"
    assert running.text == "about 42 min of running"
    assert walking.kind == "action"


def test_body_weight_walking_uses_the_compendium_formula(catalog: Catalog) -> None:
    # kcal/min = MET * 3.5 * kg / 200 = 4.3 * 3.5 * 80 / 200 = 6.02 -> 420 / 6.02 = 69.77 min
    request = ConversionRequest(
        420, "kcal", targets=("walking_minutes_at_body_weight",), params={"body_weight_kg": 80}
    )
    (walking,) = convert_request(request, catalog)
    assert walking.value == pytest.approx(420 / (4.3 * 3.5 * 80 / 200))
    assert walking.text == "about 1 h 10 min of brisk walking at 80 kg"


def test_body_weight_given_in_pounds_is_converted_to_kg(catalog: Catalog) -> None:
    # 176.37 lb = 80.0 kg (1 lb = 0.45359237 kg); running 9.8 MET: 9.8 * 3.5 * 80 / 200 = 13.72
    request = ConversionRequest(
        420,
        "kcal",
        targets=("running_minutes_at_body_weight",),
        params={"body_weight_kg": "176.37 lb"},
    )
    (running,) = convert_request(request, catalog)
    kg = 176.37 * 0.45359237
    assert running.value == pytest.approx(420 / (9.8 * 3.5 * kg / 200))


def test_kilojoules_are_food_energy(catalog: Catalog) -> None:
    # 420 kcal * 4.184 kJ/kcal = 1757.28 kJ
    (walking,) = convert_request(
        ConversionRequest(1757.28, "kJ", targets=("walking_minutes",)), catalog
    )
    assert walking.value == pytest.approx(75)


# --- EPA -----------------------------------------------------------------------------------


def test_1000_kwh_avoided_gives_epa_equivalents(catalog: Catalog) -> None:
    results = by_id(convert_request(ConversionRequest(1000, "kWh", mode="avoided"), catalog))
    t_co2e = 1000 * 7.09e-4  # = 0.709 t CO2e
    assert results["co2e_electricity_avoided"].value == pytest.approx(0.709)
    assert results["vehicle_miles"].value == pytest.approx(t_co2e / 3.926866e-4)  # 1805.51
    assert results["gasoline_gallons"].value == pytest.approx(t_co2e / 8.887e-3)  # 79.78
    assert results["tree_seedlings"].value == pytest.approx(t_co2e / 0.060)  # 11.82
    # Whole units from 1,000 on, as the EPA calculator shows its counts; 3 figures below.
    assert results["vehicle_miles"].text == "about 1,806 miles not driven"
    assert results["gasoline_gallons"].text == "about 79.8 gallons of gasoline not consumed"
    assert results["tree_seedlings"].text == "about 11.8 tree seedlings grown for 10 years"
    assert results["co2e_electricity_avoided"].amount == "0.709"  # not an integer display
    assert "co2e_electricity_used" not in results


def test_1000_kwh_used_takes_the_grid_average_factor(catalog: Catalog) -> None:
    results = by_id(convert_request(ConversionRequest(1000, "kWh", mode="used"), catalog))
    t_co2e = 1000 * 3.94e-4  # = 0.394 t CO2e
    assert results["co2e_electricity_used"].value == pytest.approx(0.394)
    assert results["passenger_vehicle_years"].value == pytest.approx(t_co2e / 4.29)  # 0.0918
    assert results["vehicle_miles"].label.startswith("miles driven")
    assert "co2e_electricity_avoided" not in results


@pytest.mark.parametrize(
    ("entry_id", "t_co2e_per_unit", "unit"),
    [
        ("gasoline_gallons", 8.887e-3, "gallon"),
        ("passenger_vehicle_years", 4.29, ""),
        ("vehicle_miles", 3.926866e-4, "mile"),
        ("coal_pounds", 9.0024e-4, "lb"),
        ("oil_barrels", 0.43197, "oil_barrel"),
        ("tree_seedlings", 0.060, ""),
        ("forest_acres", 0.84, "acre"),
        ("waste_recycled_short_tons", 2.89, "short_ton"),
        ("home_electricity_years", 4.798, ""),
        ("smartphone_charges", 1.24e-5, ""),
    ],
)
def test_each_epa_equivalent_divides_t_co2e_by_its_factor(
    catalog: Catalog, entry_id: str, t_co2e_per_unit: float, unit: str
) -> None:
    (result,) = convert_request(ConversionRequest(10, "t CO2e", targets=(entry_id,)), catalog)
    assert result.value == pytest.approx(10 / t_co2e_per_unit)
    assert result.unit == unit
    assert result.trace[-1].source is not None and result.trace[-1].source.title == EPA_TITLE


def test_co2e_in_kg_is_converted_to_tonnes_first(catalog: Catalog) -> None:
    (seedlings,) = convert_request(
        ConversionRequest(600, "kg CO2e", targets=("tree_seedlings",)), catalog
    )
    assert seedlings.value == pytest.approx(0.6 / 0.060)  # 600 kg = 0.6 t -> 10 seedlings
    assert seedlings.trace[0].operation == "convert"
    assert seedlings.trace[0].result == pytest.approx(0.6)


def test_trace_shows_each_factor_with_unit_source_and_intermediate(catalog: Catalog) -> None:
    request = ConversionRequest(1, "MWh", mode="avoided", targets=("vehicle_miles",))
    (miles,) = convert_request(request, catalog)
    convert, co2e, divide = miles.trace
    assert (convert.operation, convert.result, convert.result_unit) == ("convert", 1000, "kWh")
    assert (co2e.operation, co2e.factor, co2e.factor_unit) == ("multiply", 7.09e-4, "t CO2e / kWh")
    assert co2e.result == pytest.approx(0.709) and co2e.result_unit == "t CO2e"
    assert co2e.source is not None and co2e.source.title == EPA_TITLE
    assert (divide.operation, divide.factor, divide.factor_unit) == (
        "divide",
        3.926866e-4,
        "t CO2e / mile",
    )
    assert divide.result == pytest.approx(0.709 / 3.926866e-4) and divide.result_unit == "mile"


# --- Transactions -> hours -> FTE-years, cost ----------------------------------------------


def test_transactions_chain_to_hours_fte_years_and_cost(catalog: Catalog) -> None:
    request = ConversionRequest(
        12400, metric="transactions_processed", params={"minutes_per_transaction": 3}
    )
    results = by_id(convert_request(request, catalog))
    hours = 12400 * 3 / 60  # = 620 h
    assert results["work_time_saved"].value == pytest.approx(620)
    assert results["fte_years_not_hired"].value == pytest.approx(hours / 1720)  # 0.3605
    assert results["labour_cost_avoided"].value == pytest.approx(hours * 32.07 * 1.42)  # 28,234
    assert results["work_time_saved"].text == "about 620 h of manual work eliminated"
    assert results["fte_years_not_hired"].text == (
        "about 0.36 FTE-years not hired (at 1,720 h per FTE-year)"
    )
    assert results["labour_cost_avoided"].text == (
        "about 28,200 USD of fully loaded labour cost avoided"
    )


def test_cost_trace_names_the_parameter_and_where_its_value_came_from(catalog: Catalog) -> None:
    request = ConversionRequest(
        12400,
        metric="transactions_processed",
        targets=("labour_cost_avoided",),
        params={"minutes_per_transaction": 3},
    )
    (cost,) = convert_request(request, catalog, tenant_params={"hourly_wage": 40})
    minutes, to_hours, wage, loaded = cost.trace
    assert (minutes.parameter, minutes.result, minutes.source.title) == (  # type: ignore[union-attr]
        "minutes_per_transaction",
        37200,
        "request parameter",
    )
    assert (to_hours.operation, to_hours.result, to_hours.result_unit) == ("convert", 620, "hour")
    assert (wage.factor, wage.source.title) == (40, "tenant setting")  # type: ignore[union-attr]
    assert loaded.source is not None and "Employer Costs" in loaded.source.title
    assert cost.value == pytest.approx(620 * 40 * 1.42)


def test_request_parameters_override_tenant_settings_over_defaults(catalog: Catalog) -> None:
    params = resolve_parameters(
        catalog, {"hours_per_fte_year": 2080, "hourly_wage": 40}, {"hourly_wage": "55 USD/hour"}
    )
    assert (params["hours_per_fte_year"].value, params["hours_per_fte_year"].origin) == (
        2080,
        "tenant",
    )
    assert (params["hourly_wage"].value, params["hourly_wage"].origin) == (55, "request")
    assert (params["loaded_cost_factor"].value, params["loaded_cost_factor"].origin) == (
        1.42,
        "default",
    )


def test_paid_hours_convention_gives_fewer_fte_years(catalog: Catalog) -> None:
    request = ConversionRequest(
        12400,
        metric="transactions_processed",
        targets=("fte_years_not_hired",),
        params={"minutes_per_transaction": 3, "hours_per_fte_year": 2080},
    )
    (fte,) = convert_request(request, catalog)
    assert fte.value == pytest.approx(620 / 2080)  # 0.298 vs 0.360 at 1,720 h
    assert fte.text == "about 0.298 FTE-years not hired (at 2,080 h per FTE-year)"


def test_missing_minutes_per_transaction_is_reported_on_its_field(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as caught:
        convert_request(ConversionRequest(12400, metric="transactions_processed"), catalog)
    assert caught.value.field == "params.minutes_per_transaction"


def test_tenant_metric_entry_chains_into_fte_and_cost(catalog: Catalog) -> None:
    emails = Entry.model_validate(
        {
            "id": "email_triage_time",
            "input": "emails_triaged",
            "output": "work_time",
            "output_unit": "hour",
            "label": "hours of triage eliminated",
            "template": "{amount} of triage eliminated",
            "kind": "feel_good",
            "operation": "multiply",
            "factors": [{"label": "minutes per email", "value": 1.5, "unit": "minute"}],
            "source": {"title": "Acme time study", "edition": "2025-03"},
        }
    )
    merged = merge_entries(catalog, [emails])
    results = by_id(convert_request(ConversionRequest(8000, metric="emails_triaged"), merged))
    assert results["email_triage_time"].value == pytest.approx(8000 * 1.5 / 60)  # 200 h
    assert results["fte_years_not_hired"].value == pytest.approx(200 / 1720)
    assert "work_time_saved" not in results


# --- Selection, modes, rejections ----------------------------------------------------------


def test_targets_limit_the_results_to_the_requested_equivalents(catalog: Catalog) -> None:
    request = ConversionRequest(
        1000, "kWh", mode="avoided", targets=("tree_seedlings", "vehicle_miles")
    )
    assert {e.id for e in convert_request(request, catalog)} == {"tree_seedlings", "vehicle_miles"}


def test_unknown_target_is_named(catalog: Catalog) -> None:
    with pytest.raises(UnknownEquivalent) as caught:
        convert_request(ConversionRequest(1, "kWh", mode="used", targets=("rainbows",)), catalog)
    assert caught.value.field == "targets[0]"


def test_kg_where_kwh_is_needed_is_rejected_on_unit(catalog: Catalog) -> None:
    request = ConversionRequest(5, "kg", mode="avoided", targets=("vehicle_miles",))
    with pytest.raises(IncompatibleUnits) as caught:
        convert_request(request, catalog)
    assert caught.value.field == "unit"
    assert "[mass]" in caught.value.reason


def test_kg_for_the_electricity_metric_is_rejected_on_unit(catalog: Catalog) -> None:
    with pytest.raises(IncompatibleUnits) as caught:
        convert_request(ConversionRequest(5, "kg", metric="electricity", mode="used"), catalog)
    assert caught.value.field == "unit"


def test_kwh_cannot_reach_walking_minutes(catalog: Catalog) -> None:
    with pytest.raises(IncompatibleUnits) as caught:
        convert_request(ConversionRequest(1, "kWh", targets=("walking_minutes",)), catalog)
    assert caught.value.field == "unit"


def test_unknown_unit_is_rejected_on_unit(catalog: Catalog) -> None:
    with pytest.raises(IncompatibleUnits) as caught:
        convert_request(ConversionRequest(5, "kwhh", mode="used"), catalog)
    assert caught.value.field == "unit"


def test_wage_in_another_currency_is_rejected_on_its_parameter(catalog: Catalog) -> None:
    request = ConversionRequest(
        10, metric="transactions_processed", params={"hourly_wage": "35 EUR/hour"}
    )
    with pytest.raises(IncompatibleUnits) as caught:
        convert_request(request, catalog)
    assert caught.value.field == "params.hourly_wage"


def test_electricity_needs_a_mode(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as caught:
        convert_request(ConversionRequest(1000, "kWh"), catalog)
    assert caught.value.field == "mode"


def test_unknown_mode_is_rejected(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as caught:
        convert_request(ConversionRequest(1000, "kWh", mode="saved"), catalog)
    assert caught.value.field == "mode"


def test_energy_unit_naming_no_measure_asks_for_the_metric(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as caught:
        convert_request(ConversionRequest(1e6, "J"), catalog)
    assert caught.value.field == "metric"
    # 1,757,280 J = 420 kcal (4184 J/kcal)
    request = ConversionRequest(1_757_280, "J", metric="food_energy", targets=("running_minutes",))
    assert convert_request(request, catalog)[0].value == pytest.approx(42)


@pytest.mark.parametrize("quantity", [-1.0, float("nan")])
def test_negative_or_nan_quantity_is_rejected(catalog: Catalog, quantity: float) -> None:
    with pytest.raises(InvalidParameter) as caught:
        convert_request(ConversionRequest(quantity, "kcal"), catalog)
    assert caught.value.field == "quantity"


@pytest.mark.parametrize("value", [0, -3])
def test_parameter_must_be_positive(catalog: Catalog, value: float) -> None:
    with pytest.raises(InvalidParameter) as caught:
        resolve_parameters(catalog, {}, {"body_weight_kg": value})
    assert caught.value.field == "params.body_weight_kg"


def test_unknown_parameter_is_rejected(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as caught:
        resolve_parameters(catalog, {"shoe_size": 42}, {})
    assert caught.value.field == "settings.shoe_size"


def test_an_equivalent_that_overflows_is_an_error_on_quantity(catalog: Catalog) -> None:
    with pytest.raises(InvalidParameter) as raised:
        convert_request(ConversionRequest(1e308, "kWh", mode="avoided"), catalog)
    assert raised.value.field == "quantity"


@given(text=st.text(alphabet="kWh()*/^+-. 0123456789eE,[]{}%$#'\"\\tCO2_", max_size=12))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_any_unit_text_either_parses_or_is_a_named_rejection(text: str) -> None:
    try:
        parse_unit(text, "unit")
    except IncompatibleUnits as rejection:
        assert rejection.field == "unit"
