"""The signals consumer: decode ``SignalChange`` records and hand them to the handler."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.notifier.handlers import Notifier, handle_signal_changes
from shared.kafka import BatchHandler, DeadLetter
from shared.signals import SignalChange


def signal_batch_handler(notifier: Notifier) -> BatchHandler:
    """The ConsumeLoop handler: undecodable records are dead-lettered, the rest handled."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        changes: list[SignalChange] = []
        for record in records:
            try:
                changes.append(SignalChange.from_value(record.value or b""))
            except (ValidationError, ValueError) as exc:
                letters.append(DeadLetter(record, f"not a signal change: {exc}"[:1000]))
        if changes:
            await handle_signal_changes(notifier, changes)
        return letters

    return handle
