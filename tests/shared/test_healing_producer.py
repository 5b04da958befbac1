"""A producer that cannot recover is replaced; one that is only waiting for the broker is not
replaced until it has been stuck for a while (pure: fake producers and a fake clock)."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, OutOfOrderSequenceNumber

from shared.kafka import HealingProducer


class FakeProducer:
    def __init__(self, number: int, *, starts: bool = True) -> None:
        self.number = number
        self.starts = starts
        self.started = self.stopped = False

    async def start(self) -> None:
        if not self.starts:
            raise KafkaConnectionError("Unable to bootstrap from 127.0.0.1:9092")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


class Factory:
    def __init__(self) -> None:
        self.made: list[FakeProducer] = []
        self.broker_up = True

    def __call__(self) -> Any:
        producer = FakeProducer(len(self.made), starts=self.broker_up)
        self.made.append(producer)
        return producer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_fatal_error_replaces_the_producer_at_once() -> None:
    factory, clock = Factory(), Clock()
    healing = HealingProducer(factory, stuck_after_seconds=15, clock=clock)
    await healing.start()
    first = healing.current
    try:
        raise RuntimeError("publish failed") from OutOfOrderSequenceNumber()
    except RuntimeError as error:  # as publish_all reports it: the cause is the broker's error
        await healing.failed(error)
    assert healing.current is not first and healing.current.started
    assert first.stopped and healing.replacements == 1
    assert healing.failing_for() == 0  # the new producer has refused nothing yet


async def test_timeouts_replace_only_a_producer_stuck_for_a_while() -> None:
    factory, clock = Factory(), Clock()
    healing = HealingProducer(factory, stuck_after_seconds=15, clock=clock)
    await healing.start()
    first = healing.current
    await healing.failed(KafkaTimeoutError())
    clock.now += 10
    await healing.failed(KafkaTimeoutError())
    assert healing.current is first and healing.failing_for() == 10
    healing.succeeded()  # the broker came back and the producer recovered by itself
    assert healing.failing_for() == 0
    await healing.failed(KafkaTimeoutError())
    clock.now += 16
    await healing.failed(KafkaTimeoutError())
    assert healing.current is not first


async def test_a_replacement_waits_for_the_broker_and_keeps_the_old_producer_meanwhile() -> None:
    factory, clock = Factory(), Clock()
    healing = HealingProducer(factory, stuck_after_seconds=15, clock=clock)
    await healing.start()
    first = healing.current
    factory.broker_up = False
    await healing.failed(OutOfOrderSequenceNumber())
    assert healing.current is first and healing.replacements == 0
    assert factory.made[-1].stopped  # the producer that could not start is cleaned up
    clock.now += 2
    assert healing.failing_for() == 2  # /readyz says so
    factory.broker_up = True
    await healing.failed(OutOfOrderSequenceNumber())
    assert healing.current is factory.made[-1] and healing.replacements == 1
