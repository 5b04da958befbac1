"""Chain parameters: catalog defaults, overridden by tenant settings, overridden by the request.

Each resolved value remembers where it came from, so a calculation trace can cite "tenant
setting" or "request parameter" instead of the catalog's source when a default was replaced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.equivalents.catalog import Catalog, Source
from services.equivalents.errors import InvalidParameter
from services.equivalents.units import convert, parse_quantity

ParameterInput = float | str
Origin = Literal["default", "tenant", "request"]

_ORIGIN_SOURCES: Mapping[Origin, Source] = {
    "tenant": Source(title="tenant setting", edition="current tenant settings"),
    "request": Source(title="request parameter", edition="this request"),
}


@dataclass(frozen=True)
class ParameterValue:
    """A chain parameter in its catalog unit, and where its value came from."""

    name: str
    value: float
    unit: str
    origin: Origin
    source: Source | None


def resolve_parameters(
    catalog: Catalog,
    tenant: Mapping[str, ParameterInput],
    request: Mapping[str, ParameterInput],
) -> dict[str, ParameterValue]:
    """Catalog defaults, overridden by tenant settings, overridden by the request.

    A number is read in the parameter's catalog unit; a string such as ``"154 lb"`` is parsed and
    converted. Required parameters without a value are left out (entries that need one fail).
    """
    resolved = {
        name: ParameterValue(name, p.value, p.unit, "default", p.source)
        for name, p in catalog.parameters.items()
        if p.value is not None
    }
    overrides: tuple[tuple[Origin, str, Mapping[str, ParameterInput]], ...] = (
        ("tenant", "settings", tenant),
        ("request", "params", request),
    )
    for origin, prefix, given in overrides:
        for name, raw in given.items():
            field_name = f"{prefix}.{name}"
            definition = catalog.parameters.get(name)
            if definition is None:
                raise InvalidParameter(
                    field_name, f"unknown parameter; one of {sorted(catalog.parameters)}"
                )
            value = _parameter_value(raw, definition.unit, field_name)
            resolved[name] = ParameterValue(
                name, value, definition.unit, origin, _ORIGIN_SOURCES[origin]
            )
    return resolved


def _parameter_value(raw: ParameterInput, unit: str, field_name: str) -> float:
    if isinstance(raw, str):
        value = float(convert(parse_quantity(raw, field_name), unit, field_name).magnitude)
    else:
        value = float(raw)
    if not (math.isfinite(value) and value > 0):
        raise InvalidParameter(field_name, "must be a finite number > 0")
    return value
