"""Pearson's dispersion test: are period counts more variable than Poisson counts?

Both noise-aware rules (``drops`` and ``off_track``) judge counts against Poisson noise where
the data allow it and against an estimated spread, with the t quantile its degrees of freedom
call for, where they do not. This is the one place that decides which.
"""

from __future__ import annotations

from scipy import special


def fits_poisson(pearson: float, freedom: int, alpha: float) -> bool:
    """Whether Pearson's statistic (the squared deviations of counts from their mean, each over
    that mean, summed) with ``freedom`` degrees of freedom is within what Poisson counts show:
    its chi-square upper tail is above ``alpha``."""
    return freedom > 0 and float(special.chdtrc(freedom, pearson)) > alpha
