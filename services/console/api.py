"""Routes of the console: thin, read the session, call a handler, render a page.

Pages, not an API: they stay out of the OpenAPI document. Every state-changing form carries a
CSRF token tied to the session (the sign-in form a double-submitted nonce) and must come from
the console's own origin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console import charts, handlers, views
from services.console.errors import CsrfRefused
from services.console.handlers import Console, Viewer
from services.console.sealing import new_token
from shared.clock import utc_now

SESSION_COOKIE = "ampm_console"
NONCE_COOKIE = "ampm_console_nonce"

router = APIRouter(include_in_schema=False)


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(_console)]


async def _viewer(request: Request, console: ConsoleDep) -> Viewer:
    return await handlers.viewer_of_session(console, request.cookies.get(SESSION_COOKIE), utc_now())


ViewerDep = Annotated[Viewer, Depends(_viewer)]
Csrf = Annotated[str | None, Form()]


def _secure(request: Request) -> bool:
    return (request.headers.get("x-forwarded-proto") or request.url.scheme) == "https"


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    expected = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != expected:
        raise CsrfRefused("this form was sent from another site", field="origin")


def _checked(request: Request, console: Console, viewer: Viewer, token: str | None) -> None:
    _same_origin(request)
    if viewer.session_hash is None or not console.sealer.csrf_matches(viewer.session_hash, token):
        raise CsrfRefused("the form's token is missing or wrong; reload the page", field="csrf")


def _page(
    request: Request, template: str, context: dict[str, object], status_code: int = 200
) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


def _signed_in(
    request: Request, console: Console, viewer: Viewer, template: str, **context: object
) -> HTMLResponse:
    csrf = console.sealer.csrf_token(viewer.session_hash or "")
    return _page(request, template, {"viewer": viewer, "csrf": csrf, **context})


@router.get("/sign-in")
async def sign_in_form(request: Request, console: ConsoleDep) -> HTMLResponse:
    return sign_in_page(request, console)


def sign_in_page(
    request: Request, console: Console, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The sign-in form, with a fresh nonce cookie its CSRF token is tied to."""
    nonce = new_token()
    context: dict[str, object] = {"csrf": console.sealer.csrf_token(nonce), "error": error}
    response = _page(request, "sign_in.html", context, status_code)
    response.set_cookie(
        NONCE_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request), max_age=3600
    )
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request, console: ConsoleDep, key: Annotated[str, Form()], csrf: Csrf = None
) -> Response:
    _same_origin(request)
    nonce = request.cookies.get(NONCE_COOKIE)
    if nonce is None or not console.sealer.csrf_matches(nonce, csrf):
        raise CsrfRefused("the sign-in form expired; reload it", field="csrf")
    token = await handlers.sign_in(console, key, utc_now())
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=int(console.settings.session_hours * 3600),
    )
    response.delete_cookie(NONCE_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, console: ConsoleDep, viewer: ViewerDep, csrf: Csrf = None
) -> Response:
    _checked(request, console, viewer, csrf)
    await handlers.sign_out(console, viewer)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def portfolio(
    request: Request,
    console: ConsoleDep,
    viewer: ViewerDep,
    sort: Annotated[str, Query(max_length=20)] = "health",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    rows = await handlers.read(console, viewer, handlers.portfolio(console, viewer))
    arranged = views.arrange(
        rows, sort=sort, descending=order == "desc", query=q, category=category
    )
    return _signed_in(
        request, console, viewer, "portfolio.html", rows=arranged, total=len(rows),
        sort=sort, order=order, q=q, category=category, categories=charts.CATEGORY_LABELS,
    )  # fmt: skip


@router.get("/accounts/{account_id}")
async def account(
    request: Request, account_id: str, console: ConsoleDep, viewer: ViewerDep
) -> HTMLResponse:
    return await _account(request, console, viewer, account_id)


async def _account(
    request: Request,
    console: Console,
    viewer: Viewer,
    account_id: str,
    new_share: str | None = None,
) -> HTMLResponse:
    page = await handlers.read(
        console, viewer, handlers.account_page(console, viewer, account_id, utc_now().date())
    )
    shares = await handlers.shares(console, viewer, account_id)
    share_url = f"{request.base_url}shared/{new_share}" if new_share else None
    return _signed_in(
        request, console, viewer, "account.html", page=page, shares=shares, now=utc_now(),
        new_share_url=share_url, share_days=console.settings.share_days, shared=False,
    )  # fmt: skip


@router.post("/accounts/{account_id}/shares")
async def create_share(
    request: Request,
    account_id: str,
    console: ConsoleDep,
    viewer: ViewerDep,
    days: Annotated[int, Form(ge=1, le=365)] = 14,
    csrf: Csrf = None,
) -> HTMLResponse:
    _checked(request, console, viewer, csrf)
    token = await handlers.create_share(console, viewer, account_id, days, utc_now())
    # The link is shown once, on this page; only its hash is kept.
    return await _account(request, console, viewer, account_id, new_share=token)


@router.post("/accounts/{account_id}/shares/{share_id}/revoke")
async def revoke_share(
    request: Request,
    account_id: str,
    share_id: str,
    console: ConsoleDep,
    viewer: ViewerDep,
    csrf: Csrf = None,
) -> Response:
    _checked(request, console, viewer, csrf)
    shown = await handlers.revoke_share(console, viewer, share_id, utc_now())
    return RedirectResponse(f"/accounts/{shown}#sharing", status_code=303)


@router.get("/shared/{token}")
async def shared(request: Request, token: str, console: ConsoleDep) -> HTMLResponse:
    viewer = await handlers.viewer_of_share(console, token, utc_now())
    page = await handlers.account_page(
        console, viewer, viewer.share_account or "", utc_now().date()
    )
    context: dict[str, object] = {"page": page, "viewer": viewer, "shared": True, "shares": []}
    return _page(request, "account.html", context)


@router.get("/deliveries")
async def deliveries(request: Request, console: ConsoleDep, viewer: ViewerDep) -> HTMLResponse:
    endpoints, messages = await handlers.read(console, viewer, handlers.deliveries(console, viewer))
    return _signed_in(
        request, console, viewer, "deliveries.html", endpoints=endpoints, messages=messages
    )


@router.get("/deliveries/messages/{message_id}")
async def message(
    request: Request, message_id: str, console: ConsoleDep, viewer: ViewerDep
) -> HTMLResponse:
    attempts = await handlers.read(console, viewer, handlers.attempts(console, viewer, message_id))
    return _signed_in(
        request, console, viewer, "message.html", message_id=message_id, attempts=attempts
    )


@router.post("/deliveries/messages/{message_id}/replay")
async def replay(
    request: Request, message_id: str, console: ConsoleDep, viewer: ViewerDep, csrf: Csrf = None
) -> Response:
    _checked(request, console, viewer, csrf)
    await handlers.read(console, viewer, handlers.replay(console, viewer, message_id))
    return RedirectResponse(f"/deliveries/messages/{message_id}", status_code=303)
