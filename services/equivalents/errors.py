"""Domain errors of the equivalents service.

    EquivalentsError          a conversion or forecast cannot be computed; names the field at fault
    ├── UnknownEquivalent     a requested equivalent id is not in the catalog
    ├── IncompatibleUnits     a unit is unknown to pint or has the wrong dimension for its use
    ├── InvalidParameter      a parameter, mode, metric or amount is missing or out of range
    └── InvalidCatalogEntry   a catalog entry (shipped or tenant-defined) breaks a catalog rule

Every error carries ``field`` (a dotted path into the request or entry, e.g. ``unit`` or
``params.hourly_wage``) and ``reason``. Each is a shared ``Unprocessable`` (422, also
``UnknownEquivalent``: the id came from the request body), answered by the one handler every
app installs.
"""

from __future__ import annotations

from shared.errors import Unprocessable


class EquivalentsError(Unprocessable):
    """A conversion, catalog entry or forecast input is invalid; ``field`` says which part."""

    default_code = "equivalents_error"
    field: str

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason


class UnknownEquivalent(EquivalentsError):
    """The request named an equivalent id the catalog does not have."""

    default_code = "unknown_equivalent"


class IncompatibleUnits(EquivalentsError):
    """A unit is not one pint knows, or it cannot be converted to the unit its use needs."""

    default_code = "incompatible_units"


class InvalidParameter(EquivalentsError):
    """A parameter, mode, metric or amount is missing, unknown or out of its allowed range."""

    default_code = "invalid_parameter"


class InvalidCatalogEntry(EquivalentsError):
    """A catalog entry breaks a rule (missing source, factor <= 0, mixed editions...)."""

    default_code = "invalid_catalog_entry"
