"""The benchmarks' side of ``bench/sink.py``: start it as a process, read what arrived."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from ampm.local.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Arrival:
    """A webhook as it arrived: ``time.monotonic()`` and ``time.time()`` then, and its body."""

    monotonic: float
    unix: float
    body: bytes


class Receiver:
    """A sink process on a free port; ``url`` is where webhooks go."""

    def __init__(self, log_dir: Path) -> None:
        self._process = ServiceProcess(
            "sink", {"PYTHONPATH": str(ROOT)}, log_dir, module="bench.sink", ready_path="/_ready"
        )
        self._http = httpx.AsyncClient(base_url=self._process.url, timeout=30)

    @property
    def url(self) -> str:
        return self._process.url

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def __aenter__(self) -> Receiver:
        await self._process.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()
        self._process.stop()

    async def count(self) -> int:
        return int((await self._http.get("/_count")).json()["count"])

    async def wait_for(self, expected: int, within_seconds: float) -> None:
        """Until ``expected`` webhooks arrived; TimeoutError after ``within_seconds``."""
        async with asyncio.timeout(within_seconds):
            # The count lives in another process: polled, there is no event to wait on.
            while await self.count() < expected:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    async def arrivals(self) -> list[Arrival]:
        """Every webhook, in arrival order."""
        answer = await self._http.get("/_arrivals")
        return [Arrival(at, wall, body.encode()) for at, wall, body in orjson.loads(answer.content)]

    async def reset(self) -> None:
        (await self._http.post("/_reset")).raise_for_status()
