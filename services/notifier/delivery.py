"""The delivery worker: claims due deliveries from the database and sends them.

Lease due deliveries in a short transaction (``handlers.claim_due``), send each outside any
transaction, then record each attempt and its next state in a second transaction
(``handlers.record_attempt``). Deliveries live in the database, so they survive a restart, and
the lease keeps two instances from sending the same attempt. Sends run as independent tasks
and the worker claims again as soon as a slot frees, so an endpoint that answers slowly (or
only at the timeout) never holds back another endpoint's attempts. The worker sleeps until
woken (new messages committed in this process), a send finishes, or the poll interval passes
(other instances' messages, retries coming due).
"""

from __future__ import annotations

import asyncio
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
)
from services.notifier.resolver import resolve_checked
from services.notifier.schedule import response_excerpt, response_outcome, transport_failure
from services.notifier.signing import signed_headers
from services.notifier.ssrf import IPAddress, IPNetwork, check_url
from services.notifier.store import ClaimedDelivery
from shared.clock import utc_now

log = structlog.get_logger(__name__)

MAX_CONCURRENT_SENDS = 32


async def run_worker(notifier: Notifier) -> None:
    """Deliver until cancelled, with at most ``MAX_CONCURRENT_SENDS`` sends in flight."""
    timeout = httpx.Timeout(notifier.settings.webhook_timeout_seconds)
    limits = httpx.Limits(max_connections=MAX_CONCURRENT_SENDS)
    in_flight: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, limits=limits) as client:
        try:
            while True:
                notifier.wake.clear()
                free = MAX_CONCURRENT_SENDS - len(in_flight)
                claimed = await _claim(notifier, min(free, notifier.settings.worker_batch_size))
                for delivery in claimed:
                    task = asyncio.create_task(_deliver(notifier, client, delivery))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if claimed and len(claimed) == free:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                elif not claimed or len(claimed) < notifier.settings.worker_batch_size:
                    await _pause(notifier, in_flight)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


async def _claim(notifier: Notifier, limit: int) -> list[ClaimedDelivery]:
    if limit <= 0:
        return []
    try:
        return await claim_due(notifier, limit)
    except Exception as exc:  # the database is down: try again at the next poll
        log.warning("delivery_claim_failed", error=repr(exc)[:300])
        return []


async def _pause(notifier: Notifier, in_flight: set[asyncio.Task[None]]) -> None:
    """Until woken, a send finishes (a slot frees, a retry may be due) or the poll passes."""
    waker = asyncio.create_task(notifier.wake.wait())
    try:
        await asyncio.wait(
            {waker, *in_flight},
            timeout=notifier.settings.worker_poll_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        waker.cancel()


async def _deliver(notifier: Notifier, client: httpx.AsyncClient, claimed: ClaimedDelivery) -> None:
    result = await send(client, claimed, notifier.allowlist)
    try:
        await record_attempt(notifier, claimed, result)
    except Exception as exc:  # the lease expires and the attempt is made again
        log.error("attempt_not_recorded", message_id=claimed.message_id, error=repr(exc)[:300])


async def send(
    client: httpx.AsyncClient, claimed: ClaimedDelivery, allowlist: tuple[IPNetwork, ...]
) -> AttemptResult:
    """One signed POST to the endpoint, at the address the SSRF guard checked just now."""
    attempted_at = utc_now()
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
        response_outcome(response.status_code, response.headers, utc_now()),
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
