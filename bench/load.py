"""Closed-loop HTTP load for the benchmarks: concurrent keep-alive clients for a set time.

The clients are aiohttp's: on these machines httpx's pure-Python HTTP/1.1 is the slower side
of a loop against one uvicorn worker, and a benchmark must measure the server, not its client.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time

import aiohttp
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
    target = url.rstrip("/") + path

    async def client(http: aiohttp.ClientSession, until: float) -> None:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            method = "GET" if content is None else "POST"
            async with http.request(method, target, data=content, headers=headers) as response:
                await response.read()
                response.raise_for_status()
            latencies.append(time.perf_counter() - sent)

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
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
