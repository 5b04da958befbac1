"""CORS on the write-key routes only: browsers (Segment's analytics.js) send events there.

Write keys are public by design (they sit in every web page that tracks), so any origin may send
events by default; the secret-key routes of this service (tenant administration) get no CORS
headers, so a browser page can never call them with a key it should not hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest.segment import SegmentType

SEGMENT_PATHS = frozenset({"/v1/batch", *(f"/v1/{call.value}" for call in SegmentType)})
WRITE_KEY_PATHS = SEGMENT_PATHS | {"/v1/events"}


class WriteKeyCors:
    """ASGI middleware: Starlette's CORS handling for ``paths``, nothing for the others."""

    def __init__(
        self, app: ASGIApp, *, allow_origins: Sequence[str], paths: frozenset[str] = WRITE_KEY_PATHS
    ) -> None:
        self.app = app
        self.paths = paths
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(allow_origins),
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type", "content-encoding"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in self.paths:
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
