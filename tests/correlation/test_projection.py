from datetime import date

import numpy as np
import pytest
from pydantic import ValidationError

from services.correlation.buckets import PeriodUnit, period_range, shift_period
from services.correlation.plans import Direction, Objective
from services.correlation.projection import Projection, fit_line, project_objective
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series


def _weekly(values: list[float | None]) -> Series:
    keys = period_range("2024-W01", shift_period("2024-W01", len(values) - 1))
    return Series("conversion", PeriodUnit.WEEK, keys, tuple(values))


def _objective(
    baseline: float = 2.2,
    target: float = 3.2,
    direction: Direction = Direction.UP,
    deadline: date = date(2024, 3, 27),  # Wednesday of 2024-W13, i.e. position 12 from W01
) -> Objective:
    return Objective(
        metric="conversion",
        baseline=baseline,
        target=target,
        direction=direction,
        deadline=deadline,
    )


def test_projection_matches_numpy_polyfit_at_the_deadline() -> None:
    rng = np.random.default_rng(11)
    values = 2.2 + 0.05 * np.arange(8) + rng.normal(0, 0.02, size=8)
    levels: list[float | None] = [float(v) for v in values]
    levels[3] = None  # a week nobody reported the rate
    known = np.array([i for i, v in enumerate(levels) if v is not None])
    slope, intercept = np.polyfit(known, values[known], 1)
    projection = project_objective(_objective(), _weekly(levels))
    assert isinstance(projection, Projection)
    assert projection.points == 7
    assert projection.slope == pytest.approx(slope)
    assert projection.deadline_period == "2024-W13"
    assert projection.periods_to_deadline == 12 - 7
    assert projection.projected_value == pytest.approx(np.polyval([slope, intercept], 12))
    assert projection.meets_target == bool(np.polyval([slope, intercept], 12) >= 3.2)


def test_fit_line_matches_polyfit() -> None:
    xs, ys = [0.0, 1.0, 3.0, 4.0], [1.0, 2.5, 2.0, 5.0]
    assert fit_line(xs, ys) == pytest.approx(tuple(np.polyfit(xs, ys, 1)))


def test_rising_trend_meets_an_up_target() -> None:
    # 2.2, 2.3, ... +0.1 per week; at position 12: 2.2 + 1.2 = 3.4 >= 3.2
    projection = project_objective(_objective(), _weekly([2.2 + 0.1 * i for i in range(6)]))
    assert isinstance(projection, Projection)
    assert projection.projected_value == pytest.approx(3.4)
    assert projection.meets_target


def test_slow_trend_misses_an_up_target() -> None:
    # +0.05 per week: 2.2 + 0.6 = 2.8 < 3.2
    projection = project_objective(_objective(), _weekly([2.2 + 0.05 * i for i in range(6)]))
    assert isinstance(projection, Projection)
    assert projection.projected_value == pytest.approx(2.8)
    assert not projection.meets_target


def test_falling_trend_meets_a_down_target() -> None:
    # bounce rate 10 -> 6: -0.5 per week, 10 - 6.0 = 4.0 at position 12 <= 6
    objective = _objective(baseline=10, target=6, direction=Direction.DOWN)
    projection = project_objective(objective, _weekly([10 - 0.5 * i for i in range(5)]))
    assert isinstance(projection, Projection)
    assert projection.projected_value == pytest.approx(4.0)
    assert projection.meets_target
    flat = project_objective(objective, _weekly([10.0] * 5))
    assert isinstance(flat, Projection)
    assert not flat.meets_target


def test_too_few_points_is_insufficient_evidence() -> None:
    outcome = project_objective(_objective(), _weekly([2.2, None, 2.4, 2.5, None]))
    assert outcome == InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, points=3, required=4)
    assert isinstance(
        project_objective(_objective(), _weekly([2.2, 2.4, 2.5]), min_points=3), Projection
    )


def test_progress_is_the_fraction_from_baseline_to_target() -> None:
    # (2.7 - 2.2) / (3.2 - 2.2) = 0.5
    projection = project_objective(_objective(), _weekly([2.4, 2.5, 2.6, 2.7]))
    assert isinstance(projection, Projection)
    assert projection.latest_value == 2.7
    assert projection.progress == pytest.approx(0.5)
    down = _objective(baseline=10, target=6, direction=Direction.DOWN)
    assert down.progress(9) == pytest.approx(0.25)  # (9 - 10) / (6 - 10)
    assert down.progress(11) == pytest.approx(-0.25)


def test_deadline_already_passed_counts_negative_periods() -> None:
    projection = project_objective(
        _objective(deadline=date(2024, 1, 10)), _weekly([2.2, 2.3, 2.4, 2.5])
    )
    assert isinstance(projection, Projection)
    assert projection.periods_to_deadline == 1 - 3  # deadline in W02 (position 1), latest W04


@pytest.mark.parametrize(
    ("baseline", "target", "direction"),
    [(3.2, 2.2, Direction.UP), (2.2, 3.2, Direction.DOWN), (2.2, 2.2, Direction.UP)],
)
def test_target_on_the_wrong_side_of_the_baseline_is_refused(
    baseline: float, target: float, direction: Direction
) -> None:
    with pytest.raises(ValidationError, match="target must be"):
        _objective(baseline=baseline, target=target, direction=direction)


def test_objective_is_met_respecting_direction() -> None:
    assert _objective().is_met_by(3.2) and not _objective().is_met_by(3.19)
    down = _objective(baseline=10, target=6, direction=Direction.DOWN)
    assert down.is_met_by(6) and not down.is_met_by(6.01)


def test_prediction_interval_matches_statsmodels_ols() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    values = 2.0 + 0.03 * np.arange(10) + rng.normal(0, 0.05, size=10)
    projection = project_objective(_objective(), _weekly([float(v) for v in values]))
    assert isinstance(projection, Projection)
    fit = sm.OLS(values, sm.add_constant(np.arange(10.0))).fit()
    frame = fit.get_prediction(np.array([[1.0, 12.0]])).summary_frame(alpha=0.1)
    assert projection.interval_low == pytest.approx(frame["obs_ci_lower"][0], rel=1e-9)
    assert projection.interval_high == pytest.approx(frame["obs_ci_upper"][0], rel=1e-9)
