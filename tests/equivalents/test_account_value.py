"""An account's period totals become action and feel-good equivalents."""

from __future__ import annotations

import pytest

from services.equivalents.account_value import MetricTotal, account_value, combine_units
from services.equivalents.catalog import load_shipped_catalog


def test_totals_become_action_and_feel_good_equivalents() -> None:
    value = account_value(
        {"electricity": 2000, "transactions_processed": 12400, "food_energy": 420},
        load_shipped_catalog(),
        {"minutes_per_transaction": 3},
        modes={"electricity": "avoided"},
    )
    feel_good = {e.id: e.value for e in value.feel_good}
    action = {e.id: e.value for e in value.action}
    assert feel_good["vehicle_miles"] == pytest.approx(2000 * 7.09e-4 / 3.926866e-4)  # 3611 mi
    assert feel_good["labour_cost_avoided"] == pytest.approx(620 * 32.07 * 1.42)
    assert action["fte_years_not_hired"] == pytest.approx(620 / 1720)
    assert action["walking_minutes"] == pytest.approx(75)
    assert [m.metric for m in value.by_metric] == [
        "electricity",
        "transactions_processed",
        "food_energy",
    ]
    assert value.unconverted == ()


def test_metric_that_cannot_convert_is_reported_not_fatal() -> None:
    value = account_value(
        {"transactions_processed": 12400, "logins": 300, "electricity": 10},
        load_shipped_catalog(),
        {},
    )
    reasons = {u.metric: u.field for u in value.unconverted}
    assert reasons == {
        "transactions_processed": "params.minutes_per_transaction",
        "logins": "metric",
        "electricity": "mode",
    }
    assert value.by_metric == () and value.action == () and value.feel_good == ()


def test_metric_in_a_physical_unit_reaches_its_measure() -> None:
    combined = combine_units(
        [MetricTotal("solar_generation", "kWh", 750), MetricTotal("solar_generation", "Wh", 250e3)]
    )
    assert combined.totals == {"solar_generation": pytest.approx(1000)}
    value = account_value(
        combined.totals,
        load_shipped_catalog(),
        {},
        modes={"solar_generation": "avoided"},
        units=combined.units,
    )
    miles = {e.id: e.value for e in value.feel_good}["vehicle_miles"]
    assert miles == pytest.approx(1000 * 7.09e-4 / 3.926866e-4)
    assert value.by_metric[0].unit == "kWh"


def test_labels_count_and_mixed_dimensions_are_reported() -> None:
    combined = combine_units(
        [
            MetricTotal("transactions_processed", "transactions", 100),
            MetricTotal("transactions_processed", "", 24),
            MetricTotal("weird", "kWh", 1),
            MetricTotal("weird", "kg", 1),
        ]
    )
    assert combined.totals == {"transactions_processed": 124}
    assert combined.units == {}
    assert [(u.metric, u.field) for u in combined.unconverted] == [("weird", "unit")]
