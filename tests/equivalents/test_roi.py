"""Adoption-weighted business cases against tables computed by hand.

The case used throughout: 100,000 a year at full adoption; 50,000 one-off; licences 20,000 a
year; adoption programme 10,000 / 5,000 / 5,000; 3 years; discount rate 10%.
Yearly costs are therefore 30,000 / 25,000 / 25,000 and total cost 50,000 + 80,000 = 130,000.
"""

from __future__ import annotations

import numpy as np
import pytest

from services.equivalents.errors import InvalidParameter
from services.equivalents.roi import (
    AdoptionScenario,
    BusinessCase,
    ScenarioForecast,
    constant_scenarios,
    forecast,
    forecast_scenario,
    observed_adoption,
)

CASE = BusinessCase(
    annual_benefit_at_full_adoption=100_000,
    one_off_costs=50_000,
    years=3,
    discount_rate=0.10,
    yearly_costs={"licences": 20_000, "adoption_programme": (10_000, 5_000, 5_000)},
)


def column(result: ScenarioForecast, name: str) -> list[float]:
    return [getattr(year, name) for year in result.years]


def test_constant_adoption_scenarios_match_the_hand_table() -> None:
    thirty, fifty, seventy = forecast(CASE, constant_scenarios([0.3, 0.5, 0.7], years=3))

    # 50%: benefit 50k/yr; net 20k, 25k, 25k; cumulative -30k, -5k, 20k
    assert fifty.name == "50%"
    assert column(fifty, "benefit") == pytest.approx([50_000, 50_000, 50_000])
    assert column(fifty, "cost") == pytest.approx([30_000, 25_000, 25_000])
    assert column(fifty, "net") == pytest.approx([20_000, 25_000, 25_000])
    assert column(fifty, "cumulative_net") == pytest.approx([-30_000, -5_000, 20_000])
    # NPV = -50000 + 20000/1.1 + 25000/1.21 + 25000/1.331
    #     = -50000 + 18181.818 + 20661.157 + 18782.870 = 7625.845
    assert fifty.npv == pytest.approx(7625.845, abs=0.01)
    assert fifty.roi == pytest.approx((150_000 - 130_000) / 130_000)  # 0.1538
    assert fifty.payback_year == 3

    # 70%: net 40k, 45k, 45k; cumulative -10k, 35k, 80k
    assert column(seventy, "cumulative_net") == pytest.approx([-10_000, 35_000, 80_000])
    # NPV = -50000 + 36363.636 + 37190.083 + 33809.166 = 57362.885
    assert seventy.npv == pytest.approx(57362.885, abs=0.01)
    assert seventy.roi == pytest.approx((210_000 - 130_000) / 130_000)  # 0.6154
    assert seventy.payback_year == 2

    # 30%: net 0, 5k, 5k; cumulative -50k, -45k, -40k
    assert thirty.npv == pytest.approx(-42111.195, abs=0.01)


def test_case_that_never_pays_back_has_no_payback_year() -> None:
    (thirty,) = forecast(CASE, constant_scenarios([0.3], years=3))
    assert column(thirty, "cumulative_net") == pytest.approx([-50_000, -45_000, -40_000])
    assert thirty.payback_year is None
    assert thirty.roi == pytest.approx((90_000 - 130_000) / 130_000)  # -0.3077
    assert (thirty.total_benefit, thirty.total_cost) == pytest.approx((90_000, 130_000))


def test_first_year_dip_curve_pays_back_in_year_three() -> None:
    dip = AdoptionScenario("dip", (0.2, 0.6, 0.8))
    result = forecast_scenario(CASE, dip)
    # benefit 20k, 60k, 80k; net -10k, 35k, 55k; cumulative -60k, -25k, 30k
    assert column(result, "net") == pytest.approx([-10_000, 35_000, 55_000])
    assert column(result, "cumulative_net") == pytest.approx([-60_000, -25_000, 30_000])
    # NPV = -50000 - 9090.909 + 28925.620 + 41322.314 = 11157.025
    assert result.npv == pytest.approx(11157.025, abs=0.01)
    assert result.roi == pytest.approx((160_000 - 130_000) / 130_000)  # 0.2308
    assert result.payback_year == 3


def test_npv_agrees_with_numpy_discounting() -> None:
    curve = (0.1, 0.45, 0.65)
    result = forecast_scenario(CASE, AdoptionScenario("curve", curve))
    flows = np.array([-50_000.0] + [100_000 * a for a in curve]) - np.array(
        [0.0, 30_000, 25_000, 25_000]
    )
    expected = float(np.sum(flows / 1.1 ** np.arange(4)))
    assert result.npv == pytest.approx(expected)


def test_zero_discount_rate_npv_equals_final_cumulative_net() -> None:
    flat = BusinessCase(100_000, 50_000, 3, 0.0, {"licences": 20_000})
    (result,) = forecast(flat, constant_scenarios([0.5], 3))
    # net 30k a year; cumulative -20k, 10k, 40k
    assert result.npv == pytest.approx(40_000)
    assert result.payback_year == 2


def test_no_costs_gives_no_roi_and_payback_in_year_one() -> None:
    free = BusinessCase(10_000, 0, 2, 0.05)
    (result,) = forecast(free, constant_scenarios([0.5], 2))
    assert result.roi is None
    assert result.payback_year == 1


def test_adoption_curve_must_cover_every_year() -> None:
    with pytest.raises(InvalidParameter) as caught:
        forecast_scenario(CASE, AdoptionScenario("short", (0.5, 0.5)))
    assert caught.value.field == "adoption"


def test_adoption_above_one_is_rejected() -> None:
    with pytest.raises(InvalidParameter) as caught:
        AdoptionScenario("too much", (0.5, 1.2))
    assert caught.value.field == "adoption[1]"


def test_yearly_cost_list_must_match_years() -> None:
    with pytest.raises(InvalidParameter) as caught:
        BusinessCase(1, 0, 3, 0.1, {"adoption_programme": (1.0, 2.0)})
    assert caught.value.field == "yearly_costs.adoption_programme"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"years": 0}, "years"),
        ({"discount_rate": -1.0}, "discount_rate"),
        ({"one_off_costs": -5.0}, "one_off_costs"),
        ({"annual_benefit_at_full_adoption": float("nan")}, "annual_benefit_at_full_adoption"),
    ],
)
def test_business_case_rejects_out_of_range_inputs(kwargs: dict[str, float], field: str) -> None:
    base = {
        "annual_benefit_at_full_adoption": 1.0,
        "one_off_costs": 0.0,
        "years": 1,
        "discount_rate": 0.1,
    }
    with pytest.raises(InvalidParameter) as caught:
        BusinessCase(**{**base, **kwargs})  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("active", "seats", "expected"),
    [(45, 100, 0.45), (120, 100, 1.0), (0, 100, 0.0), (10, None, None), (10, 0, None)],
)
def test_observed_adoption_is_active_over_seats_clamped(
    active: int, seats: int | None, expected: float | None
) -> None:
    assert observed_adoption(active, seats) == expected


def test_observed_adoption_rejects_negative_active_users() -> None:
    with pytest.raises(InvalidParameter):
        observed_adoption(-1, 10)
