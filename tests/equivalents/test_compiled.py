"""Compiled conversions give what the full pint path gives, for any quantity."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.equivalents.catalog import Catalog, Entry, load_shipped_catalog, merge_entries
from services.equivalents.compiled import Converter, compile_conversion
from services.equivalents.conversions import ConversionRequest, Equivalent, convert_request
from services.equivalents.errors import InvalidParameter

PARAMS = {"minutes_per_transaction": 3, "hourly_wage": 40}
REQUESTS = (
    ConversionRequest(1, "kWh", mode="avoided"),
    ConversionRequest(1, "MWh", mode="used"),
    ConversionRequest(1, "kg CO2e"),
    ConversionRequest(1, "kJ"),
    ConversionRequest(1, "kcal", params={"body_weight_kg": "80 kg"}),
    ConversionRequest(1, metric="transactions_processed"),
    ConversionRequest(1, "minute", targets=("fte_years_not_hired",)),
    ConversionRequest(1, "kWh", mode="avoided", targets=("tree_seedlings", "vehicle_miles")),
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_shipped_catalog()


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def assert_same_text(mine: str, theirs: str) -> None:
    """Equal, or one unit apart in a number's last shown digit: one multiplication and pint's
    chain of them round differently by an ulp, which shows only at a rounding tie or past a
    float's 15 digits."""
    if mine == theirs:
        return
    assert NUMBER.sub("#", mine) == NUMBER.sub("#", theirs)
    for a, b in zip(NUMBER.findall(mine), NUMBER.findall(theirs), strict=True):
        decimals = len(b.partition(".")[2])
        assert abs(float(a.replace(",", "")) - float(b.replace(",", ""))) <= 1.001 * 10**-decimals


def assert_same(compiled: tuple[Equivalent, ...], full: tuple[Equivalent, ...]) -> None:
    assert [e.id for e in compiled] == [e.id for e in full]
    for mine, theirs in zip(compiled, full, strict=True):
        assert mine.value == pytest.approx(theirs.value, rel=1e-12)
        # Rounded to what is shown: a tie may round one step apart (see assert_same_text).
        assert mine.rounded_value == pytest.approx(theirs.rounded_value, rel=0.01)
        assert_same_text(mine.amount, theirs.amount)
        assert_same_text(mine.text, theirs.text)
        assert (mine.label, mine.unit) == (theirs.label, theirs.unit)
        assert len(mine.trace) == len(theirs.trace)
        for step, expected in zip(mine.trace, theirs.trace, strict=True):
            assert step.result == pytest.approx(expected.result, rel=1e-12)
            assert (step.operation, step.factor, step.result_unit, step.parameter) == (
                expected.operation,
                expected.factor,
                expected.result_unit,
                expected.parameter,
            )


@settings(max_examples=80, deadline=None)
@given(
    index=st.integers(0, len(REQUESTS) - 1),
    quantity=st.one_of(
        st.just(0.0),
        st.floats(1e-9, 1e12, allow_nan=False, allow_infinity=False),
        st.integers(1, 10**7).map(float),
    ),
)
def test_compiled_matches_the_full_path(catalog: Catalog, index: int, quantity: float) -> None:
    request = REQUESTS[index]
    compiled = compile_conversion(request, catalog, PARAMS)
    assert compiled.proportional
    full = convert_request(
        ConversionRequest(**{**request.__dict__, "quantity": quantity}), catalog, PARAMS
    )
    assert_same(compiled.at(quantity), full)


def test_an_offset_unit_is_not_compiled_but_still_converted(catalog: Catalog) -> None:
    heat = Entry.model_validate(
        {
            "id": "reading_in_fahrenheit",
            "input": "kelvin_readings",
            "output_unit": "degF",
            "label": "degrees Fahrenheit",
            "kind": "feel_good",
            "operation": "multiply",
            "factors": [{"label": "kelvin per reading", "value": 1, "unit": "kelvin"}],
            "source": {"title": "Definition", "edition": "SI"},
        }
    )
    merged = merge_entries(catalog, [heat])
    request = ConversionRequest(1, metric="kelvin_readings")
    compiled = compile_conversion(request, merged)
    assert not compiled.proportional
    full = convert_request(ConversionRequest(300, metric="kelvin_readings"), merged)
    assert_same(compiled.at(300), full)
    assert compiled.at(300)[0].value == pytest.approx(80.33, abs=0.01)


def test_rejections_are_those_of_the_full_path(catalog: Catalog) -> None:
    compiled = compile_conversion(REQUESTS[0], catalog, PARAMS)
    for quantity in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidParameter) as caught:
            compiled.at(quantity)
        assert caught.value.field == "quantity"
    with pytest.raises(InvalidParameter) as caught:
        compile_conversion(ConversionRequest(1, metric="transactions_processed"), catalog)
    assert caught.value.field == "params.minutes_per_transaction"


def test_an_overflowing_quantity_is_rejected_like_the_full_path(catalog: Catalog) -> None:
    request = ConversionRequest(1, "GWh", mode="avoided")
    with pytest.raises(InvalidParameter) as full:
        convert_request(ConversionRequest(1e306, "GWh", mode="avoided"), catalog)
    with pytest.raises(InvalidParameter) as compiled:
        compile_conversion(request, catalog).at(1e306)
    assert compiled.value.field == full.value.field == "quantity"


def test_converter_compiles_once_per_catalog_key(catalog: Catalog) -> None:
    converter = Converter(max_entries=2)
    request = REQUESTS[5]
    first = converter.convert(request, catalog, PARAMS, catalog_key=("t", "r1"))
    cheaper = {**PARAMS, "hourly_wage": 20}
    stale = converter.convert(request, catalog, cheaper, catalog_key=("t", "r1"))
    fresh = converter.convert(request, catalog, cheaper, catalog_key=("t", "r2"))
    cost = {e.id: e.value for e in first}["labour_cost_avoided"]
    # One key, one compiled answer: the key must change with the parameters (a revision).
    assert {e.id: e.value for e in stale}["labour_cost_avoided"] == cost
    assert {e.id: e.value for e in fresh}["labour_cost_avoided"] == pytest.approx(cost / 2)
