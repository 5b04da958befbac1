"""Background tasks of a lifespan always stop, even one that swallows a cancellation."""

from __future__ import annotations

import asyncio

from shared.service import background


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again() -> None:
    cancellations = 0

    async def stubborn() -> None:
        nonlocal cancellations
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations > 1:
                    raise
                # as library code does when it turns a cancellation into an error it retries

    async with background("stubborn", stubborn) as task:
        await asyncio.sleep(0)
    assert task.cancelled() and cancellations == 2


async def test_a_finished_task_is_left_as_it_ended() -> None:
    async def quick() -> None:
        return None

    async with background("quick", quick) as task:
        await task
    assert task.done() and not task.cancelled()
