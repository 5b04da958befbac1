"""The delivery worker: claims due deliveries from the database and sends them.

Lease due deliveries in a short transaction (``attempts.claim_due``), send each outside any
transaction, then record each attempt and its next state (``attempts.record_attempts``): the
attempts that finished while the previous batch was being written go in one transaction, so a
burst costs a commit per batch instead of one per attempt. A send's slot frees only once its
attempt is recorded, as a retry can only be claimed after that.

Webhooks go out through aiohttp: with dozens of sends in flight, httpx's connection pool costs
~25x aiohttp's CPU per request (encode/httpx#3215; ``bench/notifier.py`` measures both against
the same receiver), which capped deliveries at ~200/s on two cores. Deliveries live in the
database, so they survive a restart, and the lease keeps two instances from sending the same
attempt. Sends run as independent tasks
and the worker claims again as soon as a slot frees, so an endpoint that answers slowly (or
only at the timeout) never holds back another endpoint's attempts. The worker sleeps until
woken (new messages committed in this process), a send finishes, or the poll interval passes
(other instances' messages, retries coming due).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from ipaddress import IPv6Address
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import structlog

from services.notifier.attempts import AttemptResult, claim_due, record_attempts
from services.notifier.errors import DestinationRefused, HostNotResolved
from services.notifier.handlers import Context
from services.notifier.leases import ClaimedDelivery
from services.notifier.resolver import resolve_checked
from services.notifier.schedule import (
    RESPONSE_EXCERPT_BYTES,
    response_excerpt,
    response_outcome,
    transport_failure,
)
from services.notifier.signing import signed_headers
from services.notifier.ssrf import IPAddress, IPNetwork, check_url
from shared.clock import utc_now
from shared.service import background

log = structlog.get_logger(__name__)

MAX_CONCURRENT_SENDS = 64
USER_AGENT = "ampm-webhooks/1"


async def run_worker(notifier: Context) -> None:
    """Deliver until cancelled, with at most ``MAX_CONCURRENT_SENDS`` sends in flight."""
    in_flight: set[asyncio.Task[None]] = set()
    settings = notifier.settings
    trusted = trust_store(settings.webhook_ca_file)
    attempts = AttemptLog(notifier)
    async with (
        webhook_session(settings.webhook_timeout_seconds, trusted) as session,
        background("notifier-attempt-log", attempts.run),
    ):
        try:
            while True:
                notifier.wake.clear()
                free = MAX_CONCURRENT_SENDS - len(in_flight)
                claimed = await _claim(notifier, min(free, notifier.settings.worker_batch_size))
                for delivery in claimed:
                    task = asyncio.create_task(_deliver(notifier, session, attempts, delivery))
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


def trust_store(extra_ca_file: Path | None) -> ssl.SSLContext:
    """The system's certificate authorities, plus a private one's when the vendor's CSM tools
    sit behind an internal CA."""
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def webhook_session(timeout_seconds: float, ssl_context: ssl.SSLContext) -> aiohttp.ClientSession:
    """The client every webhook goes out with: no cookies kept between endpoints, no proxy
    from the environment, the timeout on the whole attempt, ``MAX_CONCURRENT_SENDS``
    connections kept alive."""
    connector = aiohttp.TCPConnector(limit=MAX_CONCURRENT_SENDS, ssl=ssl_context)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        auto_decompress=False,
    )


async def _claim(notifier: Context, limit: int) -> list[ClaimedDelivery]:
    if limit <= 0:
        return []
    try:
        return await claim_due(notifier, limit)
    except Exception as exc:  # the database is down: try again at the next poll
        log.warning("delivery_claim_failed", error=repr(exc)[:300])
        return []


async def _pause(notifier: Context, in_flight: set[asyncio.Task[None]]) -> None:
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


async def _deliver(
    notifier: Context,
    session: aiohttp.ClientSession,
    attempts: AttemptLog,
    claimed: ClaimedDelivery,
) -> None:
    await attempts.record(claimed, await send(session, claimed, notifier.allowlist))


# An attempt made, and the future its sender waits on until it is written.
_Finished = tuple[ClaimedDelivery, AttemptResult, "asyncio.Future[None]"]


class AttemptLog:
    """Writes finished attempts in batches; ``record`` returns once its attempt is written (or
    could not be: the lease then expires and the attempt is made again)."""

    def __init__(self, notifier: Context, max_batch: int = MAX_CONCURRENT_SENDS) -> None:
        self._notifier = notifier
        self._max_batch = max_batch
        self._finished: asyncio.Queue[_Finished] = asyncio.Queue()

    async def record(self, claimed: ClaimedDelivery, result: AttemptResult) -> None:
        written = asyncio.get_running_loop().create_future()
        self._finished.put_nowait((claimed, result, written))
        await written

    async def run(self) -> None:
        """Write batches until cancelled."""
        while True:
            batch = [await self._finished.get()]
            while len(batch) < self._max_batch and not self._finished.empty():
                batch.append(self._finished.get_nowait())
            try:
                await self._write(batch)
            finally:
                for *_, written in batch:
                    if not written.done():
                        written.set_result(None)

    async def _write(self, batch: list[_Finished]) -> None:
        try:
            await record_attempts(self._notifier, [(c, r) for c, r, _ in batch])
            return
        except Exception as exc:  # one bad row (or a deadlock) must not lose the others
            if len(batch) == 1:
                self._not_recorded(batch[0][0], exc)
                return
        for claimed, result, _ in batch:
            try:
                await record_attempts(self._notifier, [(claimed, result)])
            except Exception as exc:
                self._not_recorded(claimed, exc)

    @staticmethod
    def _not_recorded(claimed: ClaimedDelivery, exc: Exception) -> None:
        log.error("attempt_not_recorded", message_id=claimed.message_id, error=repr(exc)[:300])


async def send(
    session: aiohttp.ClientSession, claimed: ClaimedDelivery, allowlist: tuple[IPNetwork, ...]
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
        reason = f"refused by the SSRF guard: {exc.reason}"
        return AttemptResult(transport_failure(reason), attempted_at, elapsed_ms(), error=reason)
    headers = signed_headers(
        claimed.message_id,
        attempted_at,
        claimed.body,
        claimed.secrets.signing_secrets(attempted_at),
    )
    target, host = pinned_url(claimed.url, address)
    headers["Host"] = host
    headers["Content-Type"] = "application/json"
    try:
        async with session.post(
            target,
            data=claimed.body,
            headers=headers,
            allow_redirects=False,
            # TLS to the pinned address still names, and verifies, the endpoint's host.
            server_hostname=destination.host if destination.scheme == "https" else None,
        ) as response:
            excerpt = await _excerpt(response)
            status, response_headers = response.status, response.headers
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = _failure_reason(exc)
        return AttemptResult(transport_failure(reason), attempted_at, elapsed_ms(), error=reason)
    return AttemptResult(
        response_outcome(status, response_headers, utc_now()),
        attempted_at,
        elapsed_ms(),
        status_code=status,
        response_body=response_excerpt(excerpt),
    )


async def _excerpt(response: aiohttp.ClientResponse) -> bytes:
    """The body's first bytes, for the attempt log; the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    while size < RESPONSE_EXCERPT_BYTES:
        chunk = await response.content.read(RESPONSE_EXCERPT_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "Timeout: no complete answer within the webhook timeout"
    return f"{type(exc).__name__}: {exc}"[:1000]


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
