"""The delivery worker: claims due deliveries from the database and sends them.

One cycle: lease due deliveries in a short transaction (``handlers.claim_due``), send each
outside any transaction, then record each attempt and its next state in a second transaction
(``handlers.record_attempt``). Deliveries live in the database, so they survive a restart, and
the lease keeps two instances from sending the same attempt. The worker sleeps until woken (new
messages committed in this process) or the poll interval passes (other instances' messages,
retries coming due).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from ipaddress import IPv6Address
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from services.notifier.errors import DestinationRefused, HostNotResolved
from services.notifier.handlers import (
    AttemptResult,
    Notifier,
    claim_due,
    record_attempt,
    utcnow,
)
from services.notifier.resolver import resolve_checked
from services.notifier.schedule import response_excerpt, response_outcome, transport_failure
from services.notifier.signing import signed_headers
from services.notifier.ssrf import IPAddress, IPNetwork, check_url
from services.notifier.store import ClaimedDelivery

log = structlog.get_logger(__name__)

MAX_CONCURRENT_SENDS = 32


async def run_worker(notifier: Notifier) -> None:
    """Deliver until cancelled."""
    timeout = httpx.Timeout(notifier.settings.webhook_timeout_seconds)
    limits = httpx.Limits(max_connections=MAX_CONCURRENT_SENDS)
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, limits=limits) as client:
        gate = asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        while True:
            notifier.wake.clear()
            try:
                claimed = await claim_due(notifier)
            except Exception as exc:  # the database is down: try again at the next poll
                log.warning("delivery_claim_failed", error=repr(exc)[:300])
                claimed = []
            if claimed:
                await asyncio.gather(*(_deliver(notifier, client, gate, c) for c in claimed))
            if len(claimed) < notifier.settings.worker_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        notifier.wake.wait(), notifier.settings.worker_poll_seconds
                    )


async def _deliver(
    notifier: Notifier, client: httpx.AsyncClient, gate: asyncio.Semaphore, claimed: ClaimedDelivery
) -> None:
    async with gate:
        result = await send(client, claimed, notifier.allowlist)
    try:
        await record_attempt(notifier, claimed, result)
    except Exception as exc:  # the lease expires and the attempt is made again
        log.error("attempt_not_recorded", message_id=claimed.message_id, error=repr(exc)[:300])


async def send(
    client: httpx.AsyncClient, claimed: ClaimedDelivery, allowlist: tuple[IPNetwork, ...]
) -> AttemptResult:
    """One signed POST to the endpoint, at the address the SSRF guard checked just now."""
    attempted_at = utcnow()
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        destination = check_url(claimed.url)
        address = await resolve_checked(destination, allowlist)
    except (DestinationRefused, HostNotResolved) as exc:
        reason = f"refused by the SSRF guard: {exc}"
        return AttemptResult(transport_failure(reason), attempted_at, elapsed_ms(), error=reason)
    headers = signed_headers(
        claimed.message_id,
        attempted_at,
        claimed.body,
        claimed.secrets.signing_secrets(attempted_at),
    )
    target, host = pinned_url(claimed.url, address)
    headers["host"] = host
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    try:
        response = await client.post(
            target, content=claimed.body, headers=headers, extensions=extensions
        )
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        return AttemptResult(transport_failure(reason), attempted_at, elapsed_ms(), error=reason)
    return AttemptResult(
        response_outcome(response.status_code, response.headers, utcnow()),
        attempted_at,
        elapsed_ms(),
        status_code=response.status_code,
        response_body=response_excerpt(response.content),
    )


def pinned_url(url: str, address: IPAddress) -> tuple[str, str]:
    """The URL with its host replaced by the checked address, and the Host header to send.

    Connecting to the address rather than the name means no second DNS lookup can point the
    request somewhere the guard did not check (DNS rebinding).
    """
    parts = urlsplit(url.strip())
    host_header = parts.netloc.rpartition("@")[2]
    ip_text = f"[{address}]" if isinstance(address, IPv6Address) else str(address)
    netloc = f"{ip_text}:{parts.port}" if parts.port is not None else ip_text
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header
