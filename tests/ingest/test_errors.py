"""Each ingest error is one HTTP error, with its status, code, field and reason."""

from __future__ import annotations

import pytest

from services.ingest.errors import (
    BatchInvalid,
    BodyShapeInvalid,
    IngestError,
    InvalidEvent,
    MalformedCredentials,
    TooLarge,
    UnknownWriteKey,
    UnreadableBody,
)
from shared.errors import ApiError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UnreadableBody("body", "not valid JSON"), 400),
        (BodyShapeInvalid("events", "must be a list"), 400),
        (TooLarge("body", "over 10 bytes", limit=10), 413),
        (InvalidEvent([{"index": None, "field": "kind", "reason": "bad"}]), 422),
        (MalformedCredentials("authorization", "not base64"), 401),
        (UnknownWriteKey("ampm-write-key", "missing"), 401),
    ],
)
def test_every_error_has_a_status_code_and_field(error: IngestError, status: int) -> None:
    mapped: ApiError = error  # what the shared handler answers with
    assert mapped.status_code == status
    body = mapped.body()["error"]
    assert (body["code"], body["field"]) == (error.code, error.field)
    assert error.reason in body["message"]


def test_a_bad_batch_lists_every_item_and_says_how_many() -> None:
    errors = [
        {"index": 0, "field": "kind", "reason": "bad"},
        {"index": 3, "field": "account_id", "reason": "required"},
    ]
    body = BatchInvalid(errors).body()["error"]
    assert body["errors"] == errors
    assert body["message"].startswith("2 problems")
