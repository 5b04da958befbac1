"""The pint unit registry of the equivalents service and unit checks that name the field at fault.

The registry adds the units the catalog needs beyond pint's defaults: ``CO2e`` (a marker
dimension, so ``t CO2e`` is not interchangeable with a plain ``t`` of anything), ``FTE_year``
(one full-time person for a year) and a few currencies, each its own dimension because
exchange rates are not constants.
"""

from __future__ import annotations

import math
import tokenize
from functools import lru_cache
from typing import Any

import pint

from services.equivalents.errors import IncompatibleUnits

# pint's classes are generic at runtime only; Any keeps mypy --strict honest about that.
Quantity = Any
Unit = Any

_EXTRA_DEFINITIONS = (
    "CO2e = [co2e]",
    "FTE_year = [staffing] = FTE_yr",
    "USD = [currency_usd]",
    "EUR = [currency_eur]",
    "GBP = [currency_gbp]",
)
# pint's expression parser fails on client garbage in many ways (even AssertionError and
# IndexError from its tokenizer), and every one of them means "not a unit".
_PARSE_ERRORS = (
    pint.errors.PintError,
    ValueError,
    TypeError,
    AttributeError,
    AssertionError,
    IndexError,
    KeyError,
    SyntaxError,
    ZeroDivisionError,
    RecursionError,
    tokenize.TokenError,
)


@lru_cache(maxsize=1)
def unit_registry() -> Any:
    """The one registry all catalog quantities share (pint cannot mix registries)."""
    registry: Any = pint.UnitRegistry()
    for definition in _EXTRA_DEFINITIONS:
        registry.define(definition)
    return registry


def parse_unit(text: str, field: str) -> Unit:
    """Parse a unit expression such as ``kWh`` or ``t CO2e / mile``; '' is dimensionless."""
    try:
        return _parse_units(text)
    except _PARSE_ERRORS as exc:
        raise IncompatibleUnits(field, f"{text!r} is not a unit: {exc}") from None


@lru_cache(maxsize=4096)
def _parse_units(text: str) -> Unit:
    # Units are immutable and a conversion parses the same few dozen strings each time; parsing
    # dominated the cost of a conversion before this cache (failures are not cached).
    return unit_registry().parse_units(text)


def make_quantity(value: float, unit: str, field: str) -> Quantity:
    """A pint quantity; the unit is checked and errors name ``field``."""
    return unit_registry().Quantity(value, parse_unit(unit, field))


def parse_quantity(text: str, field: str) -> Quantity:
    """Parse ``"35 EUR/hour"`` into a quantity; a bare number is dimensionless."""
    try:
        parsed: Quantity = unit_registry().Quantity(text)
    except _PARSE_ERRORS as exc:
        raise IncompatibleUnits(field, f"{text!r} is not a quantity: {exc}") from None
    if not math.isfinite(float(parsed.magnitude)):
        raise IncompatibleUnits(field, f"{text!r} is not a finite quantity")
    return parsed


def is_convertible(source: Unit, target: Unit) -> bool:
    """Whether a quantity in ``source`` units can be expressed in ``target`` units."""
    return bool(source.dimensionality == target.dimensionality)


def convert(quantity: Quantity, unit: str, field: str) -> Quantity:
    """Express ``quantity`` in ``unit``, or say in ``field`` why the dimensions differ."""
    target = parse_unit(unit, field)
    if not is_convertible(quantity.units, target):
        raise IncompatibleUnits(
            field,
            f"{describe_unit(quantity.units)} cannot be converted to {describe_unit(target)}",
        )
    return quantity.to(target)


def describe_unit(unit: Unit) -> str:
    """``kg ([mass])``: the unit and its dimension, for error messages."""
    shown = format(unit, "~P") or "dimensionless"
    return f"{shown} ({unit.dimensionality})"


@lru_cache(maxsize=1024)
def is_duration(unit: str) -> bool:
    """Whether ``unit`` measures time (such outputs read as "1 h 15 min")."""
    return bool(parse_unit(unit, "unit").dimensionality == unit_registry().second.dimensionality)


@lru_cache(maxsize=1024)
def format_unit(unit: Unit) -> str:
    """A unit as a short symbol string for traces: ``t CO2e / mile``."""
    return format(unit, "~P")
