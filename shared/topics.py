"""Every Kafka topic in one place.

| topic | key | value | producer -> consumers |
|---|---|---|---|
| ``ampm.ingest.raw`` | ``tenant:account`` | native event JSON, header ``ampm-write-key`` | trusted producers -> ingest |
| ``ampm.events`` | ``tenant:account`` | ``shared.events.Envelope`` | ingest -> correlation, equivalents |
| ``ampm.events.dlq`` | as received | the rejected input, headers ``ampm-dlq-*`` | ingest, consumers |
| ``ampm.signals`` | ``tenant:account`` | ``shared.signals.SignalChange`` | correlation -> notifier |
| ``ampm.notifications.dlq`` | ``tenant:account`` | dead-lettered webhook message | notifier |
| ``ampm.erasures`` | ``tenant`` | ``shared.erasure.ErasureRequest`` | ingest -> every service |
"""

from __future__ import annotations

from dataclasses import dataclass

# Header on ``ampm.ingest.raw`` naming the producing tenant by one of its write keys.
RAW_WRITE_KEY_HEADER = "ampm-write-key"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names under an optional namespace prefix (tests use one per test)."""

    namespace: str = ""

    def _name(self, base: str) -> str:
        return f"{self.namespace}{base}"

    @property
    def ingest_raw(self) -> str:
        return self._name("ampm.ingest.raw")

    @property
    def events(self) -> str:
        return self._name("ampm.events")

    @property
    def events_dlq(self) -> str:
        return self._name("ampm.events.dlq")

    @property
    def signals(self) -> str:
        return self._name("ampm.signals")

    @property
    def digests(self) -> str:
        return self._name("ampm.digests")

    @property
    def notifications_dlq(self) -> str:
        return self._name("ampm.notifications.dlq")

    @property
    def erasures(self) -> str:
        return self._name("ampm.erasures")

    def all(self) -> list[str]:
        """Every topic the system uses, for the bootstrap."""
        return [
            self.ingest_raw,
            self.events,
            self.events_dlq,
            self.signals,
            self.digests,
            self.notifications_dlq,
            self.erasures,
        ]
