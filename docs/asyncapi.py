"""Build docs/asyncapi.yaml, the AsyncAPI 3.0 description of every topic, from the code.

Run ``.venv/bin/python docs/asyncapi.py`` after changing a message model or a topic; the test
suite fails while the committed document differs from what this script builds, and validates
the document against the official AsyncAPI 3.0.0 JSON schema.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.ingest.native import NativeEvent  # noqa: E402
from shared.digests import ValueDigest  # noqa: E402
from shared.erasure import ErasureRequest  # noqa: E402
from shared.events import Envelope  # noqa: E402
from shared.signals import SignalChange  # noqa: E402
from shared.topics import RAW_WRITE_KEY_HEADER, Topics  # noqa: E402

DOCUMENT = Path(__file__).with_name("asyncapi.yaml")
REF = "#/components/schemas/{model}"
KAFKA_BINDING_VERSION = "0.5.0"


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """JSON schemas of the models with nested definitions hoisted to components."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _key(description: str) -> dict[str, Any]:
    return {
        "kafka": {
            "key": {"type": "string", "description": description},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _cloudevents_headers() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 binary-mode headers, so tools can route without parsing.",
        "required": ["ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion", "content-type"],
        "properties": {
            "ce_id": {**text, "description": "the event or change id"},
            "ce_source": {**text, "description": "/tenants/{tenant_id}/{door or service}"},
            "ce_type": {**text, "description": "dev.ampm.event.{kind} or the change type"},
            "ce_time": {**text, "format": "date-time"},
            "ce_specversion": {"type": "string", "const": "1.0"},
            "content-type": {"type": "string", "const": "application/json"},
        },
    }


def _dead_letter_headers() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "The original headers plus where the record came from and why.",
        "required": ["ampm-dlq-reason", "ampm-dlq-topic"],
        "properties": {
            "ampm-dlq-reason": {**text, "description": "field and reason of the rejection"},
            "ampm-dlq-topic": text,
            "ampm-dlq-partition": text,
            "ampm-dlq-offset": text,
        },
    }


def build_document() -> dict[str, Any]:
    """The AsyncAPI document as a dict, in a stable order."""
    topics = Topics()
    key = "tenant_id:account_id (account part empty while unresolved)"
    messages = {
        "NativeEvent": {
            "name": "NativeEvent",
            "title": "Native event from a trusted producer",
            "summary": f"Same fields as POST /v1/events; header {RAW_WRITE_KEY_HEADER} names the "
            "tenant by its write key.",
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "required": [RAW_WRITE_KEY_HEADER],
                "properties": {RAW_WRITE_KEY_HEADER: {"type": "string"}},
            },
            "payload": {"$ref": REF.format(model="NativeEvent")},
            "bindings": _key(key),
        },
        "Envelope": {
            "name": "Envelope",
            "title": "Validated, normalised event",
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
            "payload": {"$ref": REF.format(model="Envelope")},
            "bindings": _key(key),
        },
        "RejectedInput": {
            "name": "RejectedInput",
            "title": "Input a service would not process",
            "summary": "The record as received (any bytes), with the reason in headers.",
            "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
            "payload": {"description": "the rejected value, unchanged"},
        },
        "SignalChange": {
            "name": "SignalChange",
            "title": "Signal raised or resolved, or health changed",
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
            "payload": {"$ref": REF.format(model="SignalChange")},
            "bindings": _key(key),
        },
        "ValueDigest": {
            "name": "ValueDigest",
            "title": "An account's value over one ended week or month",
            "summary": "One per (account, period); its id is derived from them, so a digest "
            "published again after a restart is the same message.",
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
            "payload": {"$ref": REF.format(model="ValueDigest")},
            "bindings": _key(key),
        },
        "ErasureRequest": {
            "name": "ErasureRequest",
            "title": "A tenant deleted, or one of its people erased",
            "summary": "Published by ingest once recorded; every service applies it to its own "
            "tables once (its consumer group's own) and records that it did.",
            "contentType": "application/json",
            "payload": {"$ref": REF.format(model="ErasureRequest")},
            "bindings": _key("tenant_id"),
        },
    }
    channels = {
        "ingestRaw": {"address": topics.ingest_raw, "messages": {"NativeEvent": _m("NativeEvent")}},
        "events": {"address": topics.events, "messages": {"Envelope": _m("Envelope")}},
        "eventsDeadLetter": {
            "address": topics.events_dlq,
            "messages": {"RejectedInput": _m("RejectedInput")},
        },
        "signals": {"address": topics.signals, "messages": {"SignalChange": _m("SignalChange")}},
        "digests": {"address": topics.digests, "messages": {"ValueDigest": _m("ValueDigest")}},
        "notificationsDeadLetter": {
            "address": topics.notifications_dlq,
            "messages": {"RejectedInput": _m("RejectedInput")},
        },
        "erasures": {
            "address": topics.erasures,
            "messages": {"ErasureRequest": _m("ErasureRequest")},
        },
    }
    operations = {
        "produceRawEvents": _op("send", "ingestRaw", "Trusted producers write native events."),
        "ingestRawEvents": _op("receive", "ingestRaw", "The ingest service validates them."),
        "publishEvents": _op("send", "events", "Ingest publishes with acks=all."),
        "correlateEvents": _op("receive", "events", "Correlation keeps AM/PM buckets."),
        "valueEvents": _op("receive", "events", "Equivalents keeps daily usage totals."),
        "deadLetterEvents": _op("send", "eventsDeadLetter", "Rejected input, with the reason."),
        "publishSignals": _op("send", "signals", "Correlation publishes signal changes."),
        "notifySignals": _op("receive", "signals", "The notifier turns them into webhooks."),
        "publishDigests": _op("send", "digests", "Equivalents publishes value digests."),
        "notifyDigests": _op(
            "receive", "digests", "The notifier delivers them as value.digest webhooks."
        ),
        "deadLetterNotifications": _op(
            "send", "notificationsDeadLetter", "Webhook messages whose attempts ran out."
        ),
        "requestErasures": _op("send", "erasures", "Ingest publishes an erasure it recorded."),
        "applyErasures": _op(
            "receive", "erasures", "Every service deletes or scrubs what it holds of the subject."
        ),
    }
    schemas = _schemas(NativeEvent, Envelope, SignalChange, ValueDigest, ErasureRequest)
    schemas["CloudEventsHeaders"] = _cloudevents_headers()
    schemas["DeadLetterHeaders"] = _dead_letter_headers()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ampm topics",
            "version": "0.1.0",
            "description": "Every Kafka topic of ampm: keys, headers and message schemas. "
            "Generated by docs/asyncapi.py from the pydantic models.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The single-node broker of make dev.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def _m(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/messages/{name}"}


def _op(action: str, channel: str, summary: str) -> dict[str, Any]:
    return {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary}


def render() -> str:
    return str(yaml.safe_dump(build_document(), sort_keys=False, width=100))


if __name__ == "__main__":
    DOCUMENT.write_text(render())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
