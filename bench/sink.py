"""A webhook receiver in its own process, for the benchmarks: answers 204 and notes arrivals.

    python -m bench.sink            # port from AMPM_SINK_PORT

``POST`` to any path is a webhook: its arrival (``time.monotonic()``, the same clock in every
process of the machine, and ``time.time()`` to compare with timestamps the services store) and
body are kept. ``GET /_count`` says how many arrived, ``GET /_arrivals`` returns them as
``[[monotonic_seconds, unix_seconds, body], ...]``, ``POST /_reset`` forgets
them, ``GET /_ready`` answers once serving. A plain ASGI app: the receiver should cost the
machine as little as a receiver can, and never share a process with the client it measures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Sink:
    def __init__(self) -> None:
        self.arrivals: list[tuple[float, float, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/_count":
            await _answer(send, 200, orjson.dumps({"count": len(self.arrivals)}))
        elif method == "GET" and path == "/_arrivals":
            await _answer(send, 200, orjson.dumps(self.arrivals))
        elif method == "GET" and path == "/_ready":
            await _answer(send, 200, b"{}")
        elif method == "POST" and path == "/_reset":
            self.arrivals.clear()
            await _answer(send, 204, b"")
        elif method == "POST":
            body = await _body(receive)
            self.arrivals.append((time.monotonic(), time.time(), body.decode()))
            await _answer(send, 204, b"")
        else:
            await _answer(send, 405, b"")


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    port = int(os.environ.get("AMPM_SINK_PORT", "8099"))
    uvicorn.run(Sink(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
