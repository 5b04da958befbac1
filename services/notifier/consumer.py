"""The consumer of signals and digests: decode each record by its topic, hand it to its handler."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.notifier.handlers import Context, handle_signal_changes, handle_value_digests
from services.notifier.settings import NotifierSettings
from shared.consuming import BatchHandler, DeadLetter, Subscription
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
        letters: list[DeadLetter] = []
        changes: list[SignalChange] = []
        digests: list[ValueDigest] = []
        for record in records:
            try:
                if record.topic == digests_topic:
                    digests.append(ValueDigest.from_value(record.value or b""))
                else:
                    changes.append(SignalChange.from_value(record.value or b""))
            except (ValidationError, ValueError) as exc:
                letters.append(DeadLetter(record, f"undecodable {record.topic}: {exc}"[:1000]))
        if digests:
            await handle_value_digests(notifier, digests)
        if changes:
            await handle_signal_changes(notifier, changes)
        return letters

    return handle
