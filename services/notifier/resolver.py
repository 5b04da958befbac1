"""Host name resolution for the SSRF guard: the only I/O of the notifier's domain modules.

Resolution runs once per attempt and the connection goes to the address the guard returns, so the
host cannot answer the guard with a public address and the HTTP client with an internal one.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from ipaddress import ip_address

from services.notifier.errors import HostNotResolved
from services.notifier.ssrf import Destination, IPAddress, IPNetwork, check_addresses


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for a TCP connection, in resolver order, deduplicated."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostNotResolved(host, exc.strerror or str(exc)) from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_checked(
    destination: Destination, allowlist: Sequence[IPNetwork] = ()
) -> IPAddress:
    """Resolve the destination's host and return the address to connect to, or refuse it."""
    return check_addresses(await resolve(destination.host, destination.port), allowlist)
