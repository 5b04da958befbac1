"""The SSRF guard: webhooks go only to http(s) URLs whose addresses are publicly routable.

A tenant chooses its endpoint URLs, so without this guard it could make the notifier call the
cloud metadata service, the database or anything else on the internal network. The service layer
resolves the host (``resolver.py``), passes every address here, and connects to the address this
module returns rather than resolving again: a second lookup could answer differently (DNS
rebinding). Operators can allowlist CIDRs (tests, on-premise receivers); the allowlist wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from services.notifier.errors import DestinationRefused

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOWED_SCHEMES = {"http": 80, "https": 443}
NAT64_PREFIX = ip_network("64:ff9b::/96")

# Ranges named before the generic checks, so the refusal says what the address really is
# (the ipaddress module files most of them, and 240.0.0.0/4, under "private").
_NAMED_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (ip_network("169.254.169.254/32"), "link-local (the cloud metadata service)"),
    (ip_network("255.255.255.255/32"), "broadcast"),
    (ip_network("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
    (ip_network("192.0.2.0/24"), "reserved for documentation"),
    (ip_network("198.51.100.0/24"), "reserved for documentation"),
    (ip_network("203.0.113.0/24"), "reserved for documentation"),
    (ip_network("2001:db8::/32"), "reserved for documentation"),
    (ip_network("198.18.0.0/15"), "reserved for benchmarking"),
    (ip_network("fc00::/7"), "unique-local"),
    (ip_network("2001::/32"), "a Teredo tunnel address"),
)


@dataclass(frozen=True)
class Destination:
    """The parts of an endpoint URL the guard and the connection need."""

    scheme: str
    host: str
    port: int


def check_url(url: str) -> Destination:
    """Accept only absolute http(s) URLs with a plain host; raises ``DestinationRefused``.

    An authority with userinfo (``https://trusted@evil``), a backslash or a percent-encoded
    delimiter is refused: URL parsers disagree on where such a host ends, and the host checked
    here must be the host the HTTP client connects to.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if "\\" in url:
        raise DestinationRefused(f"URL {url!r} contains a backslash")
    if "@" in parts.netloc:
        raise DestinationRefused(f"URL {url!r} has userinfo (user@host); put no credentials in it")
    if "%" in parts.netloc:
        raise DestinationRefused(f"URL {url!r} has a percent-encoded character in its host")
    if scheme not in ALLOWED_SCHEMES:
        raise DestinationRefused(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if not parts.hostname:
        raise DestinationRefused(f"URL {url!r} has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"URL {url!r} has an invalid port: {exc}") from exc
    return Destination(
        scheme, parts.hostname, port if port is not None else ALLOWED_SCHEMES[scheme]
    )


def parse_allowlist(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Allowlist CIDRs from settings (host bits may be set); raises ValueError on a bad entry."""
    return tuple(ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def check_addresses(
    addresses: Sequence[IPAddress | str], allowlist: Sequence[IPNetwork] = ()
) -> IPAddress:
    """The address to connect to, once every resolved address of the host has passed.

    One refused address refuses the host: a name that resolves to both a public and an internal
    address is either misconfigured or probing the network.
    """
    if not addresses:
        raise DestinationRefused("the host resolved to no address")
    checked = [check_address(address, allowlist) for address in addresses]
    return checked[0]


def check_address(address: IPAddress | str, allowlist: Sequence[IPNetwork] = ()) -> IPAddress:
    """The address if it is allowlisted or globally routable; raises ``DestinationRefused``."""
    parsed = ip_address(address) if isinstance(address, str) else address
    if any(parsed in network for network in allowlist):
        return parsed
    for form, inner in _embedded_ipv4(parsed):
        inner_reason = _refusal_reason(inner)
        if inner_reason is not None:
            raise DestinationRefused(
                f"address {parsed} embeds {inner} ({form}), which is {inner_reason}"
            )
    if isinstance(parsed, IPv6Address) and _translates_to_ipv4(parsed):
        # The packets go to the embedded IPv4 address, which just passed; the outer ranges
        # (::ffff:0:0/96, 64:ff9b::/96) are "reserved" only as IPv6 allocations.
        return parsed
    reason = _refusal_reason(parsed)
    if reason is not None:
        raise DestinationRefused(f"address {parsed} is {reason}")
    return parsed


def _refusal_reason(address: IPAddress) -> str | None:
    for network, name in _NAMED_RANGES:
        if address in network:
            return name
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, IPv6Address) and address.is_site_local, "site-local"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((name for refused, name in checks if refused), None)


def _embedded_ipv4(address: IPAddress) -> list[tuple[str, IPv4Address]]:
    """IPv4 addresses an IPv6 address carries and can route to, with the form's name."""
    if not isinstance(address, IPv6Address):
        return []
    embedded: list[tuple[str, IPv4Address]] = []
    if address.ipv4_mapped is not None:
        embedded.append(("IPv4-mapped", address.ipv4_mapped))
    if address in NAT64_PREFIX:
        embedded.append(("NAT64", IPv4Address(int(address) & 0xFFFFFFFF)))
    if address.sixtofour is not None:
        embedded.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        embedded.extend([("Teredo server", server), ("Teredo client", client)])
    return embedded


def _translates_to_ipv4(address: IPv6Address) -> bool:
    return address.ipv4_mapped is not None or address in NAT64_PREFIX
