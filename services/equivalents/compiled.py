"""Conversions resolved once, then evaluated as plain arithmetic.

Every chain of the catalog multiplies and divides by constants, and its unit conversions are
scale factors, so a conversion's every value and every trace step is proportional to the
quantity asked for. ``compile_conversion`` follows the chains once with pint, at a quantity of
1 (units checked, parameters resolved, each step's factor known), and checks that at 3 every
number is three times larger; ``CompiledConversion.at`` then gives the equivalents of any
quantity by multiplication and formatting, without pint. A chain that is not proportional (a
unit with an offset) is evaluated in full each time.

``Converter`` keeps the compiled conversions of the catalogs in use, keyed by what determines
them (the catalog's revision, the request's unit, metric, mode, targets and parameters).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace

from cachetools import LRUCache

from services.equivalents import presentation
from services.equivalents.catalog import Catalog
from services.equivalents.conversions import (
    ConversionRequest,
    Equivalent,
    TraceStep,
    convert_request,
)
from services.equivalents.errors import InvalidParameter
from services.equivalents.parameters import ParameterInput, ParameterValue, resolve_parameters
from services.equivalents.units import convert, is_duration, make_quantity

PROPORTIONAL_CHECK = 3.0
MAX_COMPILED = 2048


@dataclass(frozen=True)
class _Compiled:
    """One equivalent at a quantity of 1, and how its text is made from its value."""

    unit_value: Equivalent
    display: str
    template: str | None
    minutes_per_unit: float | None
    """For a duration, minutes per output unit (its amount reads "1 h 15 min")."""


@dataclass(frozen=True)
class CompiledConversion:
    """A request's equivalents at a quantity of 1; ``at`` scales them."""

    request: ConversionRequest
    catalog: Catalog
    tenant_params: Mapping[str, ParameterInput]
    parameter_values: Mapping[str, float]
    equivalents: tuple[_Compiled, ...]
    proportional: bool

    def at(self, quantity: float) -> tuple[Equivalent, ...]:
        """The equivalents of ``quantity``: what ``convert_request`` gives, to the last bit of
        a float (one multiplication rounds differently from pint's chain of them, which shows
        in the text only at a rounding tie)."""
        # At 0 a unit conversion changes no number, so the full path leaves its step out.
        if not self.proportional or not (math.isfinite(quantity) and quantity > 0):
            return convert_request(
                replace(self.request, quantity=quantity), self.catalog, self.tenant_params
            )
        return tuple(self._scaled(item, quantity) for item in self.equivalents)

    def _scaled(self, item: _Compiled, quantity: float) -> Equivalent:
        base = item.unit_value
        value = base.value * quantity
        if not math.isfinite(value):
            raise InvalidParameter("quantity", f"too large: {base.id} overflows")
        if item.minutes_per_unit is not None:
            amount = presentation.format_duration(value * item.minutes_per_unit)
        else:
            amount = presentation.format_amount(value, item.display)
        trace = tuple(
            TraceStep(
                step.operation,
                step.description,
                step.factor,
                step.factor_unit,
                step.source,
                step.result * quantity,
                step.result_unit,
                step.parameter,
            )
            for step in base.trace
        )
        return Equivalent(
            id=base.id,
            value=value,
            unit=base.unit,
            amount=amount,
            text=presentation.describe(amount, base.label, item.template, self.parameter_values),
            label=base.label,
            kind=base.kind,
            formula=base.formula,
            trace=trace,
            source=base.source,
            assumptions=base.assumptions,
            rounded_value=presentation.rounded_amount(value, item.display),
            confirmed=base.confirmed,
        )


def compile_conversion(
    request: ConversionRequest,
    catalog: Catalog,
    tenant_params: Mapping[str, ParameterInput] | None = None,
) -> CompiledConversion:
    """Resolve ``request`` (its quantity aside) through ``catalog`` once. Raises what
    ``convert_request`` raises for a request that cannot be converted."""
    params = dict(tenant_params or {})
    at_one = convert_request(replace(request, quantity=1.0), catalog, params)
    at_check = convert_request(replace(request, quantity=PROPORTIONAL_CHECK), catalog, params)
    resolved: Mapping[str, ParameterValue] = resolve_parameters(catalog, params, request.params)
    entries = {entry.id: entry for entry in catalog.entries}
    compiled = []
    for equivalent in at_one:
        entry = entries[equivalent.id]
        minutes = None
        if is_duration(entry.output_unit):
            one = make_quantity(1.0, entry.output_unit, "output_unit")
            minutes = float(convert(one, "minute", "output_unit").magnitude)
        compiled.append(_Compiled(equivalent, entry.display, entry.template, minutes))
    return CompiledConversion(
        request=request,
        catalog=catalog,
        tenant_params=params,
        parameter_values={name: value.value for name, value in resolved.items()},
        equivalents=tuple(compiled),
        proportional=_proportional(at_one, at_check),
    )


def _proportional(at_one: tuple[Equivalent, ...], at_check: tuple[Equivalent, ...]) -> bool:
    def close(one: float, checked: float) -> bool:
        return math.isclose(one * PROPORTIONAL_CHECK, checked, rel_tol=1e-9, abs_tol=1e-12)

    if [e.id for e in at_one] != [e.id for e in at_check]:
        return False
    for one, checked in zip(at_one, at_check, strict=True):
        if not close(one.value, checked.value) or len(one.trace) != len(checked.trace):
            return False
        if not all(
            close(a.result, b.result) for a, b in zip(one.trace, checked.trace, strict=True)
        ):
            return False
    return True


class Converter:
    """Compiled conversions of the catalogs in use, the least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_COMPILED) -> None:
        self._compiled: LRUCache[Hashable, CompiledConversion] = LRUCache(max_entries)

    def convert(
        self,
        request: ConversionRequest,
        catalog: Catalog,
        tenant_params: Mapping[str, ParameterInput] | None,
        *,
        catalog_key: Hashable | None,
    ) -> tuple[Equivalent, ...]:
        """``convert_request``'s answer, from a compiled conversion when one exists.
        ``catalog_key`` must change whenever the catalog or the tenant's parameters do; None
        (a catalog used once) converts without compiling."""
        if catalog_key is None:
            return convert_request(request, catalog, tenant_params)
        key = (
            catalog_key,
            request.unit,
            request.metric,
            request.mode,
            request.targets,
            tuple(sorted((name, repr(value)) for name, value in request.params.items())),
        )
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_conversion(request, catalog, tenant_params)
            self._compiled[key] = compiled
        return compiled.at(request.quantity)
