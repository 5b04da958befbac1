"""A webhook receiver for tests: records every request and answers as the test programs it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay_seconds: float = 0.0  # answer this late (a slow endpoint)


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    reply: Reply
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Per path, programmed replies are used in order, then ``default``.

    With ``fail_first_attempt``, the first request of each (path, webhook-id) gets a 500.
    """

    def __init__(self, *, default: Reply | None = None, fail_first_attempt: bool = False) -> None:
        self.requests: list[Received] = []
        self.default = default or Reply()
        self.fail_first_attempt = fail_first_attempt
        self._plans: dict[str, list[Reply]] = {}
        self._changed = asyncio.Event()

    def plan(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies``, in order."""
        self._plans.setdefault(path, []).extend(replies)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def succeeded(self, path: str) -> list[Received]:
        return [r for r in self.at(path) if 200 <= r.reply.status < 300]

    async def wait_until(
        self, condition: Callable[[], bool], *, deadline_seconds: float = 20.0
    ) -> None:
        """Return once ``condition()`` holds after some request; fail at the deadline."""
        async with asyncio.timeout(deadline_seconds):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    def _reply_for(self, path: str, webhook_id: str | None) -> Reply:
        if self.fail_first_attempt and not any(
            r.path == path and r.headers.get("webhook-id") == webhook_id for r in self.requests
        ):
            return Reply(500, body=b"first attempt fails")
        planned = self._plans.get(path)
        return planned.pop(0) if planned else self.default

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def receive(path: str, request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            reply = self._reply_for("/" + path, headers.get("webhook-id"))
            self.requests.append(Received("/" + path, headers, body, reply, time.perf_counter()))
            self._changed.set()
            if reply.delay_seconds:
                await asyncio.sleep(reply.delay_seconds)
            return Response(reply.body, status_code=reply.status, headers=reply.headers)

        return app
