"""Pearson's dispersion test against scipy.stats' chi-square, and on drawn counts."""

import numpy as np
import pytest
from scipy import stats

from services.correlation.dispersion import fits_poisson


@pytest.mark.parametrize("freedom", [1, 5, 12, 19])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.4, 2.0, 3.0])
def test_agrees_with_the_chi_square_upper_tail(freedom: int, ratio: float) -> None:
    pearson = ratio * freedom
    for alpha in (0.05, 0.2):
        assert fits_poisson(pearson, freedom, alpha) is bool(
            stats.chi2.sf(pearson, freedom) > alpha
        )


def test_without_degrees_of_freedom_nothing_fits() -> None:
    assert not fits_poisson(0.0, 0, 0.05)


def test_rejects_poisson_at_about_its_level_and_over_dispersion_mostly() -> None:
    rng = np.random.default_rng(4)

    def rejected(counts: np.ndarray) -> float:
        mean = counts.mean(axis=1, keepdims=True)
        pearson = ((counts - mean) ** 2 / mean).sum(axis=1)
        freedom = counts.shape[1] - 1
        return float(np.mean([not fits_poisson(p, freedom, 0.05) for p in pearson]))

    poisson = rng.poisson(100, size=(2000, 20))
    assert rejected(poisson) == pytest.approx(0.05, abs=0.015)
    dispersed = rng.poisson(rng.gamma(10, 100 / 10, size=(2000, 20)))  # variance 11 x mean
    assert rejected(dispersed) > 0.95
