"""Webhook delivery to real receivers: retries on schedule, endpoints disabled and dead letters, replay, rotation, restarts, two instances, HTTPS."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
import trustme
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook

from services.notifier.app import create_app
from services.notifier.resolver import resolve
from services.notifier.settings import NotifierSettings
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.notifier.conftest import api, publish, raised, register, running
from tests.notifier.receiver import Receiver, Reply
from tests.support.kafka import read_records
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


pytestmark = pytest.mark.integration


async def test_receiver_failing_twice_gets_one_delivery_after_three_attempts(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    recorder.plan("/flaky", Reply(500), Reply(503, {"Retry-After": "0"}))
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        await register(client, receiver_url + "/flaky", ["signal.raised"])
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "f-1")])
        await recorder.wait_until(lambda: len(recorder.succeeded("/flaky")) == 1)

        requests = recorder.at("/flaky")
        assert [r.reply.status for r in requests] == [500, 503, 200]
        assert len({r.webhook_id for r in requests}) == 1

        async def logged() -> bool:
            messages = (await client.get("/v1/webhooks/messages")).json()["data"]
            statuses = [d["status"] for m in messages for d in m["deliveries"]]
            return bool(statuses == ["succeeded"])

        await eventually(logged)
        message_id = requests[0].webhook_id
        attempts = (await client.get(f"/v1/webhooks/messages/{message_id}/attempts")).json()
        assert [a["status_code"] for a in attempts] == [500, 503, 200]
        assert [a["attempt_number"] for a in attempts] == [1, 2, 3]
        assert all(a["latency_ms"] >= 0 for a in attempts)


async def test_gone_disables_the_endpoint_and_tells_the_other_endpoints(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    recorder.plan("/gone", Reply(410))
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        gone = await register(client, receiver_url + "/gone", ["signal.raised"])
        await register(client, receiver_url + "/ops", ["endpoint.disabled"])
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "g-1")])
        await recorder.wait_until(lambda: len(recorder.at("/ops")) == 1)

        notice = orjson.loads(recorder.at("/ops")[0].body)
        assert notice["type"] == "endpoint.disabled"
        assert notice["data"]["endpoint_id"] == gone["id"]
        state = (await client.get(f"/v1/webhooks/endpoints/{gone['id']}")).json()
        assert state["enabled"] is False and state["disabled_reason"] == "endpoint_gone"
        assert len(recorder.at("/gone")) == 1


async def test_deliveries_pending_when_the_endpoint_is_disabled_are_dead_lettered(
    base_settings: dict[str, Any],
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    # The second attempt is ten minutes out, so the first message is still pending when the
    # second one meets a 410 and the endpoint is disabled.
    settings = NotifierSettings(
        **base_settings,
        allowed_cidrs="127.0.0.0/8",
        retry_schedule="0,600",
        retry_jitter=0,
        worker_poll_seconds=0.2,
    )
    recorder, receiver_url = receiver
    recorder.plan("/gone", Reply(500), Reply(410))
    async with running(settings, tenant.secret_key.plaintext) as client:
        endpoint = await register(client, receiver_url + "/gone", ["signal.raised"])
        await publish(signals_producer, settings, [raised(tenant.tenant.id, "p-1")])
        await recorder.wait_until(lambda: len(recorder.at("/gone")) == 1)
        first = recorder.at("/gone")[0].webhook_id

        async def first_attempt_logged() -> bool:
            attempts = (await client.get(f"/v1/webhooks/messages/{first}/attempts")).json()
            return len(attempts) == 1

        await eventually(first_attempt_logged)
        await publish(signals_producer, settings, [raised(tenant.tenant.id, "p-2")])

        dlq = Topics(settings.topic_namespace).notifications_dlq
        records = await read_records(settings.kafka_bootstrap_servers, dlq, 2)
        letters = {letter["message_id"]: letter for letter in map(_letter, records)}
        second = recorder.at("/gone")[1].webhook_id
        assert letters[first]["reason"] == "endpoint_disabled"
        assert letters[first]["attempts"] == 1 and letters[first]["last_error"] == "HTTP 500"
        assert letters[second]["reason"] == "endpoint_gone"
        assert {letter["endpoint_id"] for letter in letters.values()} == {endpoint["id"]}
        failed = (await client.get("/v1/webhooks/messages", params={"status": "failed"})).json()
        assert {m["id"] for m in failed["data"]} == {first, second}
        assert len(recorder.at("/gone")) == 2


def _letter(record: Any) -> dict[str, Any]:
    letter: dict[str, Any] = orjson.loads(record.value or b"")
    return letter


async def test_dead_letter_after_the_schedule_then_replay_delivers(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    recorder.plan("/down", Reply(500), Reply(500), Reply(502))
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        endpoint = await register(client, receiver_url + "/down", ["signal.raised"])
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "d-1")])

        dlq = Topics(notifier_settings.topic_namespace).notifications_dlq
        records = await read_records(notifier_settings.kafka_bootstrap_servers, dlq, 1)
        letter = orjson.loads(records[0].value or b"")
        assert letter["reason"] == "attempts_exhausted" and letter["attempts"] == 3
        assert letter["endpoint_id"] == endpoint["id"]
        assert letter["payload"]["type"] == "signal.raised"

        failed = (await client.get("/v1/webhooks/messages", params={"status": "failed"})).json()
        assert [m["id"] for m in failed["data"]] == [letter["message_id"]]

        replay = await client.post(f"/v1/webhooks/messages/{letter['message_id']}/replay")
        assert replay.json() == {"rescheduled": 1}
        await recorder.wait_until(lambda: len(recorder.succeeded("/down")) == 1)
        assert len(recorder.at("/down")) == 4

        # Recovery replays every failed delivery since a time, here none are left.
        recovered = await client.post(
            f"/v1/webhooks/endpoints/{endpoint['id']}/recover",
            params={"since": "2020-01-01T00:00:00Z"},
        )
        assert recovered.status_code == 200, recovered.text


async def test_rotated_secret_signs_with_both_secrets_during_the_grace_period(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        endpoint = await register(client, receiver_url + "/rot", ["signal.raised"])
        rotated = await client.post(f"/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret")
        new_secret = rotated.json()["secret"]
        assert new_secret != endpoint["secret"]
        shown = (await client.get(f"/v1/webhooks/endpoints/{endpoint['id']}")).json()
        assert "secret" not in shown
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "r-1")])
        await recorder.wait_until(lambda: len(recorder.at("/rot")) == 1)

        request = recorder.at("/rot")[0]
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        Webhook(new_secret).verify(request.body, request.headers)
        Webhook(endpoint["secret"]).verify(request.body, request.headers)


async def test_deliveries_survive_a_restart_of_the_notifier(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    recorder.plan("/later", Reply(500))
    settings = notifier_settings.model_copy(update={"retry_schedule": "0,3,1"})
    async with running(settings, tenant.secret_key.plaintext) as client:
        await register(client, receiver_url + "/later", ["signal.raised"])
        await publish(signals_producer, settings, [raised(tenant.tenant.id, "k-1")])
        await recorder.wait_until(lambda: len(recorder.at("/later")) == 1)
    # The first instance is gone before the retry came due; a new one on the same database
    # picks the delivery up.
    assert len(recorder.at("/later")) == 1
    async with serve_app(create_app(settings)):
        await recorder.wait_until(lambda: len(recorder.succeeded("/later")) == 1)
    requests = recorder.at("/later")
    assert len(requests) == 2 and requests[0].webhook_id == requests[1].webhook_id


async def test_two_instances_deliver_each_attempt_once(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder = Receiver(fail_first_attempt=True)
    changes = [raised(tenant.tenant.id, f"m-{i}", account_id=f"acct-{i}") for i in range(40)]
    async with (
        serve_app(recorder.app()) as receiver_url,
        serve_app(create_app(notifier_settings)) as first,
        serve_app(create_app(notifier_settings)),
        api(first, tenant.secret_key.plaintext) as client,
    ):
        for path in ("/a", "/b"):
            await register(client, receiver_url + path, ["signal.raised"])
        await publish(signals_producer, notifier_settings, changes)

        def done() -> bool:
            return sum(len(recorder.succeeded(p)) for p in ("/a", "/b")) >= 80

        await recorder.wait_until(done, deadline_seconds=40)

        for path in ("/a", "/b"):
            by_id: dict[str, list[int]] = {}
            for request in recorder.at(path):
                by_id.setdefault(request.webhook_id, []).append(request.reply.status)
            assert len(by_id) == 40
            assert all(statuses == [500, 200] for statuses in by_id.values())

        async def all_logged() -> bool:
            page = await client.get(
                "/v1/webhooks/messages", params={"status": "pending", "limit": 500}
            )
            return not page.json()["data"]

        await eventually(all_logged)
        messages = (await client.get("/v1/webhooks/messages", params={"limit": 500})).json()
        sent = [m for m in messages["data"] if m["event_type"] == "signal.raised"]
        assert len(sent) == 40
        for message in sent[:5]:
            attempts = (await client.get(f"/v1/webhooks/messages/{message['id']}/attempts")).json()
            assert sorted(a["status_code"] for a in attempts) == [200, 200, 500, 500]


SCHEDULE_TOLERANCE_SECONDS = 0.5


async def test_a_slow_endpoint_never_delays_another_endpoints_retries(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    # The slow endpoint answers only after the notifier's timeout (5 s) on every attempt.
    recorder.plan("/slow", *[Reply(200, delay_seconds=6)] * 6)
    recorder.plan("/failing", *[Reply(500)] * 6)
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        await register(client, receiver_url + "/slow", ["signal.raised"])
        await register(client, receiver_url + "/failing", ["signal.raised"])
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "s-1")])
        # Schedule 0, 0.3, 0.3: three attempts within about a second, then the dead letter.
        await recorder.wait_until(lambda: len(recorder.at("/failing")) == 3, deadline_seconds=4)
        assert len(recorder.at("/slow")) == 1  # still waiting for its first answer
    at = [r.at for r in recorder.at("/failing")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    assert all(0.3 <= gap <= 0.3 + SCHEDULE_TOLERANCE_SECONDS for gap in gaps), gaps


async def test_https_endpoints_get_the_host_verified_at_the_pinned_address(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    signals_producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    """The connection goes to the address the SSRF guard checked, yet TLS names and verifies
    the endpoint's host: its certificate passes, a certificate for another name does not."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(tmp_path / "ca.pem")
    authority.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(
        tmp_path / "localhost.pem"
    )
    authority.issue_cert("hooks.example.com").private_key_and_cert_chain_pem.write_to_path(
        tmp_path / "other.pem"
    )
    address = str((await resolve("localhost", 443))[0])
    settings = notifier_settings.model_copy(
        update={
            "webhook_ca_file": tmp_path / "ca.pem",
            "allowed_cidrs": "127.0.0.0/8,::1/128",
        }
    )
    good, wrong = Receiver(), Receiver()
    async with (
        serve_app(good.app(), host=address, tls_pem=tmp_path / "localhost.pem") as good_url,
        serve_app(wrong.app(), host=address, tls_pem=tmp_path / "other.pem") as wrong_url,
        running(settings, tenant.secret_key.plaintext) as client,
    ):
        port_of = {url: url.rsplit(":", 1)[1] for url in (good_url, wrong_url)}
        await register(client, f"https://localhost:{port_of[good_url]}/tls", ["signal.raised"])
        await register(client, f"https://localhost:{port_of[wrong_url]}/tls", ["signal.raised"])
        await publish(signals_producer, settings, [raised(tenant.tenant.id, "tls-1")])
        await good.wait_until(lambda: len(good.succeeded("/tls")) == 1)
        assert good.requests[0].headers["host"] == f"localhost:{port_of[good_url]}"

        message_id = good.requests[0].webhook_id

        async def refused() -> list[dict[str, Any]]:
            attempts = (await client.get(f"/v1/webhooks/messages/{message_id}/attempts")).json()
            return [a for a in attempts if a["status_code"] is None]

        failed = await eventually(refused)
        assert "certificate" in failed[0]["error"].lower()
        assert not wrong.requests
