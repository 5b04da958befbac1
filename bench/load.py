"""Closed-loop HTTP load for the benchmarks: concurrent keep-alive clients for a set time."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time

import httpx


async def closed_loop(
    url: str,
    path: str,
    content: bytes | None,
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
) -> tuple[float, float, float]:
    """POST ``content`` (GET when None) from ``clients`` loops for ``seconds``: requests/s, p50
    and p99 in ms."""
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient, until: float) -> None:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            if content is None:
                response = await http.get(path, headers=headers)
            else:
                response = await http.post(path, content=content, headers=headers)
            response.raise_for_status()
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http, started + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


async def wait_up(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    """Return once the server answers ``/healthz``; fail if its process exits first."""
    async with httpx.AsyncClient(base_url=url) as http, asyncio.timeout(60):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {name} server exited during startup")
            try:
                if (await http.get("/healthz")).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
