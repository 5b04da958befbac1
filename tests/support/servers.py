"""Run an ASGI app under a real uvicorn server on a free 127.0.0.1 port for a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ampm.local.paths import free_port


@asynccontextmanager
async def serve_app(
    app: FastAPI,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    tls_pem: Path | None = None,
    startup_timeout: float = 30.0,
) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan included) and yield its base URL; shut it down on exit.

    Give ``port`` to come back on the same address after a stop (a receiver outage), and
    ``tls_pem`` (a private key and certificate chain) to serve HTTPS.
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        ssl_certfile=tls_pem,
        ssl_keyfile=tls_pem,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(startup_timeout):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the server stopped before it started")
                await asyncio.sleep(0.02)
        scheme = "https" if tls_pem is not None else "http"
        netloc = f"[{host}]" if ":" in host else host
        yield f"{scheme}://{netloc}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
