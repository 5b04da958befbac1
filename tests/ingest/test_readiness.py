"""A publishing service is not ready while no publish is acknowledged (pure: a fake producer
and clock)."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaTimeoutError

from shared.kafka import HealingProducer
from shared.service import publishing_check
from tests.shared.test_healing_producer import Clock, Factory


async def test_publishing_is_ready_until_publishes_fail_and_again_once_one_succeeds() -> None:
    clock = Clock()
    healing = HealingProducer(Factory(), stuck_after_seconds=15, clock=clock)
    await healing.start()
    publishing = publishing_check(lambda: healing).probe
    await publishing()
    await healing.failed(KafkaTimeoutError())
    clock.now += 3
    with pytest.raises(ConnectionError, match="3s"):
        await publishing()
    healing.succeeded()
    await publishing()
