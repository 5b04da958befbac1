"""An account's period totals become action and feel-good equivalents."""

from __future__ import annotations

import pytest

from services.equivalents.account_value import account_value
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
    assert feel_good["vehicle_miles"] == pytest.approx(2000 * 7.09e-4 / 3.93e-4)  # 3608 mi
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
