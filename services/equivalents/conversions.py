"""Convert a quantity or a usage metric into every applicable equivalent, with its trace.

A request starts at one measure of the catalog (named by ``metric``, or found from ``unit``:
kWh means electricity, kcal food energy) and follows the catalog's entries breadth-first, so
1000 kWh avoided gives t CO2e avoided and, from it, every EPA equivalent. Each result carries
the step-by-step trace: operation, factor with its unit and source, intermediate value.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from services.equivalents import presentation
from services.equivalents.catalog import Catalog, Entry, Kind, Source
from services.equivalents.errors import IncompatibleUnits, InvalidParameter, UnknownEquivalent
from services.equivalents.parameters import ParameterInput, ParameterValue, resolve_parameters
from services.equivalents.units import (
    Quantity,
    convert,
    describe_unit,
    format_unit,
    is_convertible,
    is_duration,
    make_quantity,
    parse_unit,
)


@dataclass(frozen=True)
class ConversionRequest:
    """``quantity`` of ``unit`` (or of usage ``metric``), optional ``mode`` and ``targets``."""

    quantity: float
    unit: str | None = None
    metric: str | None = None
    mode: str | None = None
    targets: tuple[str, ...] | None = None
    params: Mapping[str, ParameterInput] = field(default_factory=dict)


@dataclass(frozen=True)
class TraceStep:
    """One step of a calculation: ``result = previous (operation) factor``."""

    operation: Literal["convert", "multiply", "divide"]
    description: str
    factor: float | None
    factor_unit: str | None
    source: Source | None
    result: float
    result_unit: str
    parameter: str | None = None


@dataclass(frozen=True)
class Equivalent:
    """One equivalent: its value in ``unit``, the sentence a person reads, and how it was made."""

    id: str
    value: float
    unit: str
    amount: str
    text: str
    label: str
    kind: Kind
    formula: str
    trace: tuple[TraceStep, ...]
    source: Source
    assumptions: str
    rounded_value: float
    confirmed: bool


def convert_request(
    request: ConversionRequest,
    catalog: Catalog,
    tenant_params: Mapping[str, ParameterInput] | None = None,
) -> tuple[Equivalent, ...]:
    """Every applicable equivalent of ``request`` (or only its ``targets``), in chain order."""
    if not (math.isfinite(request.quantity) and request.quantity >= 0):
        raise InvalidParameter("quantity", "must be a finite number >= 0")
    _check_mode(request.mode, catalog)
    params = resolve_parameters(catalog, tenant_params or {}, request.params)
    start = _start_measure(request, catalog)
    needed = _needed_entries(request, catalog, start)
    measure = catalog.measure(start)
    given = make_quantity(request.quantity, request.unit or measure.unit, "unit")
    quantity, trace = _to_unit(given, measure.unit, "unit", f"convert to {measure.unit}")
    results: list[Equivalent] = []
    frontier = deque([(start, quantity, trace)])
    visited = {start}
    while frontier:
        measure_id, quantity, trace = frontier.popleft()
        for entry in _outgoing(catalog, measure_id, request.mode, needed):
            value, steps = _apply(entry, quantity, params)
            if not math.isfinite(float(value.magnitude)):
                raise InvalidParameter("quantity", f"too large: {entry.id} overflows")
            full_trace = trace + steps
            if request.targets is None or entry.id in request.targets:
                results.append(_equivalent(entry, value, full_trace, request.mode, params))
            if entry.output is not None and entry.output not in visited:
                visited.add(entry.output)
                unit = catalog.measures[entry.output].unit
                fed, more = _to_unit(value, unit, "output", f"convert to {unit}")
                frontier.append((entry.output, fed, full_trace + more))
    return tuple(results)


def _check_mode(mode: str | None, catalog: Catalog) -> None:
    modes = sorted({e.mode for e in catalog.entries if e.mode is not None})
    if mode is not None and mode not in modes:
        raise InvalidParameter("mode", f"unknown mode {mode!r}; one of {modes}")


def _start_measure(request: ConversionRequest, catalog: Catalog) -> str:
    if request.metric is not None:
        if request.metric not in _all_measures(catalog):
            raise InvalidParameter("metric", f"no conversion takes {request.metric!r}")
        measure = catalog.measure(request.metric)
        if request.unit is not None and not is_convertible(
            parse_unit(request.unit, "unit"), parse_unit(measure.unit, "unit")
        ):
            raise IncompatibleUnits("unit", f"{request.metric} is measured in {measure.unit!r}")
        return request.metric
    if request.unit is None:
        raise InvalidParameter("unit", "give a unit (kWh, kcal, t CO2e...) or a metric")
    unit = parse_unit(request.unit, "unit")
    measures = catalog.measures.items()
    named = [k for k, m in measures if any(parse_unit(u, "unit") == unit for u in m.request_units)]
    candidates = named or [
        k for k, m in measures if is_convertible(unit, parse_unit(m.unit, "unit"))
    ]
    if not candidates:
        raise IncompatibleUnits("unit", f"{describe_unit(unit)} fits no measure; {_menu(catalog)}")
    if len(candidates) > 1:
        raise InvalidParameter(
            "metric", f"{request.unit!r} could be {candidates}; name one in metric"
        )
    return candidates[0]


def _all_measures(catalog: Catalog) -> set[str]:
    return set(catalog.measures) | {e.input for e in catalog.entries}


def _menu(catalog: Catalog) -> str:
    return "the catalog converts " + ", ".join(
        f"{k} ({m.unit or 'count'})" for k, m in catalog.measures.items()
    )


def _needed_entries(request: ConversionRequest, catalog: Catalog, start: str) -> set[str]:
    """Ids of the entries to evaluate: all, or the targets and the chains that feed them."""
    if request.targets is None:
        return {e.id for e in catalog.entries}
    targets: list[Entry] = []
    for index, target in enumerate(request.targets):
        entry = catalog.entry(target)
        if entry is None:
            raise UnknownEquivalent(f"targets[{index}]", f"no equivalent {target!r} in the catalog")
        targets.append(entry)
    feeding = {t.input for t in targets}
    while True:
        more = {e.input for e in catalog.entries if e.output in feeding} - feeding
        if not more:
            break
        feeding |= more
    reachable = _reachable_measures(catalog, start)
    for index, entry in enumerate(targets):
        if entry.input not in reachable:
            field_name = "unit" if request.metric is None else f"targets[{index}]"
            raise IncompatibleUnits(
                field_name,
                f"{entry.id} needs {catalog.measure(entry.input).label} "
                f"({catalog.measure(entry.input).unit or 'count'}); the request gives {start}",
            )
    return {t.id for t in targets} | {e.id for e in catalog.entries if e.output in feeding}


def _reachable_measures(catalog: Catalog, start: str) -> set[str]:
    reached = {start}
    while True:
        more = {e.output for e in catalog.entries if e.input in reached and e.output} - reached
        if not more:
            return reached
        reached |= {m for m in more if m is not None}


def _outgoing(catalog: Catalog, measure: str, mode: str | None, needed: set[str]) -> list[Entry]:
    entries = [e for e in catalog.entries if e.input == measure and e.id in needed]
    modes = sorted({e.mode for e in entries if e.mode is not None})
    if modes and mode not in modes:
        raise InvalidParameter("mode", f"{measure} needs a mode: one of {modes}")
    return [e for e in entries if e.mode in (None, mode)]


def _to_unit(
    quantity: Quantity, unit: str, field_name: str, description: str
) -> tuple[Quantity, tuple[TraceStep, ...]]:
    """``quantity`` in ``unit``, with a convert step only when the number changes."""
    converted = convert(quantity, unit, field_name)
    if math.isclose(converted.magnitude, quantity.magnitude, rel_tol=1e-12):
        return converted, ()
    step = TraceStep("convert", description, None, None, None, float(converted.magnitude), unit)
    return converted, (step,)


def _apply(
    entry: Entry, quantity: Quantity, params: Mapping[str, ParameterValue]
) -> tuple[Quantity, tuple[TraceStep, ...]]:
    steps: list[TraceStep] = []
    current = quantity
    for index, factor in enumerate(entry.factors):
        source: Source | None
        if factor.parameter is None:
            value, unit, source = float(factor.value or 0), factor.unit, entry.source
        else:
            given = params.get(factor.parameter)
            if given is None:
                raise InvalidParameter(
                    f"params.{factor.parameter}", f"required by {entry.id}; no default exists"
                )
            value, unit, source = given.value, given.unit, given.source
        operand = make_quantity(value, unit, f"factors[{index}].unit")
        current = current * operand if entry.operation == "multiply" else current / operand
        steps.append(
            TraceStep(
                entry.operation,
                factor.label,
                value,
                unit,
                source,
                float(current.magnitude),
                format_unit(current.units),
                factor.parameter,
            )
        )
    output, conversion = _to_unit(
        current, entry.output_unit, "output_unit", f"convert to {entry.output_unit}"
    )
    if not conversion:
        last = steps.pop()
        steps.append(replace(last, result_unit=entry.output_unit))
    return output, (*steps, *conversion)


def _equivalent(
    entry: Entry,
    value: Quantity,
    trace: tuple[TraceStep, ...],
    mode: str | None,
    params: Mapping[str, ParameterValue],
) -> Equivalent:
    magnitude = float(value.magnitude)
    if is_duration(entry.output_unit):
        amount = presentation.format_duration(float(value.to("minute").magnitude))
    else:
        amount = presentation.format_amount(magnitude, entry.display)
    label = entry.mode_labels.get(mode or "", entry.label)
    values = {name: p.value for name, p in params.items()}
    return Equivalent(
        id=entry.id,
        value=magnitude,
        unit=entry.output_unit,
        amount=amount,
        text=presentation.describe(amount, label, entry.template, values),
        label=label,
        kind=entry.kind,
        formula=entry.formula(),
        trace=trace,
        source=entry.source,
        assumptions=entry.assumptions,
        rounded_value=presentation.rounded_amount(magnitude, entry.display),
        confirmed=entry.confirmed,
    )
