"""Waiting in tests without sleeping: poll a probe until it answers, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.1


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, deadline_seconds: float = 30.0
) -> T:
    """Poll ``probe`` until it returns something truthy (True, a found row, a non-empty list)
    and return that; fail with ``TimeoutError`` when the deadline passes."""
    async with asyncio.timeout(deadline_seconds):
        while True:
            result = await probe()
            if result:
                return result
            await asyncio.sleep(POLL_SECONDS)
