"""Numbers as a person would say them: 3 significant figures (or whole units where the source
shows counts that way), thousands separators, durations.

Rounding is half-up on the decimal digits of the value (``0.3605`` -> ``0.361``), because a
reader checking a figure by hand rounds that way, not by the binary value of the float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

SIGNIFICANT_DIGITS = 3
# Below this many minutes a duration reads as "h + min"; above, as rounded hours ("620 h").
_HOURS_AND_MINUTES_UNTIL = 600


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded half-up to ``digits`` significant figures (1804 -> 1800)."""
    if value == 0 or not math.isfinite(value):
        return value
    exact = Decimal(repr(value))
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return float(exact.quantize(step, rounding=ROUND_HALF_UP))


def format_number(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``1804.07`` -> ``"1,800"``, ``0.70900`` -> ``"0.709"``, ``1.5`` -> ``"1.5"``."""
    rounded = round_significant(value, digits)
    if rounded == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# Whole units from here: below it 3 significant figures already show every whole unit (233,
# 79.8, 1.26), above it they would round away digits the calculator shows (2,546,560).
_WHOLE_UNITS_FROM = 1000
# Whole units up to here; beyond, digits would claim a precision no factor has.
_WHOLE_UNITS_UNTIL = 1e15


def _whole_units(value: float, display: str) -> bool:
    return display == "integer" and _WHOLE_UNITS_FROM <= abs(value) < _WHOLE_UNITS_UNTIL


def format_amount(value: float, display: str) -> str:
    """``value`` as an entry displays it: whole units (``"2,546,560"``) for ``integer`` entries
    of at least 1,000, otherwise 3 significant figures."""
    if _whole_units(value, display):
        return f"{_round_half_up(value):,}"
    return format_number(value)


def rounded_amount(value: float, display: str) -> float:
    """The number ``format_amount`` shows."""
    if _whole_units(value, display):
        return float(_round_half_up(value))
    return round_significant(value)


def _round_half_up(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_duration(minutes: float) -> str:
    """Minutes as a person says them: 75 -> "1 h 15 min", 42 -> "42 min", 37200 -> "620 h"."""
    if minutes < 0.5:
        return f"{_round_half_up(minutes * 60)} s"
    whole_minutes = _round_half_up(minutes)
    if whole_minutes < 60:
        return f"{whole_minutes} min"
    if whole_minutes < _HOURS_AND_MINUTES_UNTIL:
        hours, rest = divmod(whole_minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{format_number(whole_minutes / 60)} h"


def describe(amount: str, label: str, template: str | None, parameters: Mapping[str, float]) -> str:
    """The human sentence: ``"about 1,800 miles not driven"``.

    ``template`` (with ``{amount}`` and parameter names) is used when the entry has one, so
    durations read "about 1 h 15 min of brisk walking" instead of repeating a unit word.
    """
    if template is None:
        return f"about {amount} {label}"
    shown = {name: format_number(value) for name, value in parameters.items()}
    return "about " + template.format(amount=amount, **shown)
