"""The shared error boundary over real HTTP: NUL characters and database failures."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.http import RejectNulCharacters, install_error_handlers
from tests.support.servers import serve_app


class CharacterNotInRepertoireError(Exception):
    """Stands for the driver error PostgreSQL raises for a NUL byte in text."""


class DataError(Exception):
    """Stands for the driver error for a number outside a column's range."""


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RejectNulCharacters)

    @app.get("/accounts/{account_id}")
    async def account(account_id: str, state: str | None = None) -> dict[str, str | None]:
        return {"account_id": account_id, "state": state}

    @app.get("/unstorable")
    async def unstorable() -> None:
        # As SQLAlchemy's asyncpg adapter raises it: the driver error is the adapter's cause.
        adapted = RuntimeError("invalid byte sequence")
        adapted.__cause__ = CharacterNotInRepertoireError("0x00")
        raise DBAPIError("INSERT", {}, adapted)

    @app.get("/out-of-range")
    async def out_of_range() -> None:
        adapted = RuntimeError("invalid input for query argument $5")
        adapted.__cause__ = DataError("value out of int64 range")
        raise DBAPIError("SELECT", {}, adapted)

    @app.get("/database-down")
    async def database_down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    @app.get("/bug")
    async def bug() -> None:
        raise DBAPIError("SELECT", {}, ValueError("something else"))

    return app


async def test_nul_in_query_or_path_is_a_400_naming_the_parameter() -> None:
    async with serve_app(_app()) as url, httpx.AsyncClient(base_url=url) as client:
        in_query = await client.get("/accounts/acme", params={"state": "op\x00en"})
        in_path = await client.get("/accounts/ac%00me")
        clean = await client.get("/accounts/acme", params={"state": "open"})
    assert in_query.status_code == 400
    assert in_query.json()["error"] == {
        "code": "invalid_character",
        "message": "query.state contains a NUL character",
        "field": "query.state",
    }
    assert in_path.status_code == 400 and in_path.json()["error"]["field"] == "path"
    assert clean.json() == {"account_id": "acme", "state": "open"}


async def test_database_failures_map_to_4xx_or_503_without_internals() -> None:
    async with serve_app(_app()) as url, httpx.AsyncClient(base_url=url) as client:
        unstorable = await client.get("/unstorable")
        out_of_range = await client.get("/out-of-range")
        down = await client.get("/database-down")
        bug = await client.get("/bug")
    assert unstorable.status_code == 422
    assert unstorable.json()["error"]["code"] == "invalid_character"
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["code"] == "out_of_range"
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert bug.status_code == 500
    assert bug.json() == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "refused" not in down.text and "something else" not in bug.text
