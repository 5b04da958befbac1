"""Where local infrastructure keeps its files, and free ports for throwaway servers."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path


def cache_root() -> Path:
    """Downloads reused by every clone on the machine (outside the clone)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ampm"


def data_root() -> Path:
    """Persistent state of the local run (broker data, database)."""
    configured = os.environ.get("AMPM_LOCAL_DATA")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "ampm"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: held open together while chosen, since a port released
    and asked for again is often handed out twice."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


async def accepts_connections(address: str) -> bool:
    """Whether something listens at ``address`` (``host:port``) right now."""
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
