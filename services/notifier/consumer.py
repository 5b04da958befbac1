"""The consumer of signals and digests: decode each record by its topic, hand it to its handler."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord

from services.notifier.handlers import Context, handle_signal_changes, handle_value_digests
from services.notifier.settings import NotifierSettings
from shared.consuming import BatchHandler, DeadLetter, Subscription, decode_records
from shared.digests import ValueDigest
from shared.signals import SignalChange


def subscription(settings: NotifierSettings) -> Subscription:
    """The notifier consumer group on the signals and digests topics."""
    return Subscription(
        name="notifier-signals",
        group=settings.consumer_group,
        topics=lambda topics: (topics.signals, topics.digests),
        dead_letters=lambda topics: topics.notifications_dlq,
    )


def batch_handler(notifier: Context, digests_topic: str) -> BatchHandler:
    """Records of ``digests_topic`` are value digests, the others signal changes; undecodable
    records are dead-lettered, the rest handled."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[DeadLetter]:
        ours = [r for r in records if r.topic == digests_topic]
        digests, letters = decode_records(ours, ValueDigest.from_value, "value digest")
        others = [r for r in records if r.topic != digests_topic]
        changes, more = decode_records(others, SignalChange.from_value, "signal change")
        if digests:
            await handle_value_digests(notifier, [digest for _, digest in digests])
        if changes:
            await handle_signal_changes(notifier, [change for _, change in changes])
        return letters + more

    return handle
