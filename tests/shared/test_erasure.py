"""The erasure contract (pure): subject hashes, suppression, scrubbing stored JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.erasure import (
    ERASED,
    ErasureRequest,
    ErasureScope,
    Suppression,
    mentions,
    scrub,
    status_of,
    subject_hash,
)


def test_a_request_travels_as_json_keyed_by_its_tenant() -> None:
    request = ErasureRequest(
        id="era_1",
        tenant_id="tn_a",
        scope=ErasureScope.PERSON,
        person_id="p-7",
        requested_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    assert request.key == b"tn_a"
    assert ErasureRequest.from_value(request.to_value()) == request


def test_the_suppression_list_names_no_one_and_drops_what_it_covers() -> None:
    hashed = subject_hash("tn_a", "p-7")
    assert "p-7" not in hashed and hashed != subject_hash("tn_b", "p-7")
    suppressed = Suppression([("tn_a", hashed), ("tn_gone", "")])
    assert suppressed.drops("tn_a", "p-7")
    assert not suppressed.drops("tn_a", "p-8") and not suppressed.drops("tn_b", "p-7")
    assert suppressed.drops("tn_gone", None) and suppressed.drops("tn_gone", "anyone")
    assert suppressed.drops_any("tn_a", ["acme", "p-7"])
    assert not Suppression([])


def test_scrubbing_takes_a_person_out_of_evidence_and_keeps_the_rest() -> None:
    evidence: dict[str, Any] = {
        "departed_sponsor_ids": ["p-7", "p-9"],
        "departed_sponsors": [
            {"person_id": "p-7", "name": "Dana Reyes", "title": "CEO"},
            {"person_id": "p-9", "name": "Sam Lee", "title": "CFO"},
        ],
        "departed_at": "2026-11-04T10:00:00Z",
    }
    scrubbed = scrub(evidence, {"p-7"})
    assert scrubbed["departed_sponsor_ids"] == [ERASED, "p-9"]
    assert scrubbed["departed_sponsors"][0] == {"person_id": ERASED, "name": None, "title": None}
    assert scrubbed["departed_sponsors"][1] == evidence["departed_sponsors"][1]
    assert mentions(evidence, {"p-7"}) and not mentions(scrubbed, {"p-7"})
    assert "Dana Reyes" not in str(scrubbed)


def test_an_erasure_is_complete_once_every_service_applied_it() -> None:
    at = datetime(2026, 12, 3, tzinfo=UTC)
    some = {"ingest": at, "correlation": at}
    assert status_of(some) == "pending"
    every = {name: at for name in ("ingest", "correlation", "equivalents", "notifier", "console")}
    assert status_of(every) == "completed"
