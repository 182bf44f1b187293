"""Who is signed in to the dashboard, and the CSRF check of every state-changing request.

The bearer-token middleware (`daemon.auth`) guards `/v1/`, `/admin` and `/metrics` only; every
`/ui/` path is guarded here instead, by the `lorabot_session` cookie. A page answers a refusal
as an HTML page with the refusal's status; the JSON routes under `/ui/api/` answer the RPC's
error body.
"""

import hmac
import secrets

import aiohttp_jinja2
from aiohttp import web
from pydantic import ValidationError

from core.db.models import Account
from core.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from core.web_sign_in import Viewer, find_viewer
from daemon.errors import Handler, status_of, validation_message
from daemon.keys import READ_SESSIONMAKER, SETTINGS
from daemon.web.paths import (
    API_PREFIX,
    CSRF_FIELD,
    CSRF_HEADER,
    FORM_COOKIE,
    SESSION_COOKIE,
    STATIC_PREFIX,
    UI_PREFIX,
)

VIEWER = web.RequestKey("web_viewer", Viewer)
# Paths a browser reaches before it has a session: the sign-in forms and the assets.
OPEN_PREFIXES = (STATIC_PREFIX, "/ui/sign-in/", "/ui/operator/sign-in")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A used or expired link is gone for good (410); an unknown one is simply refused (403).
LINK_STATUS = {"WEB_LINK_USED": 410, "WEB_LINK_EXPIRED": 410, "WEB_LINK_UNKNOWN": 403}


def _is_ui(path: str) -> bool:
    return path.startswith(UI_PREFIX) or path == UI_PREFIX.rstrip("/")


def secure_cookies(request: web.Request) -> bool:
    """Whether cookies get `Secure`: the request came over TLS, or the operator says so."""
    return request.secure or request.app[SETTINGS].web_secure_cookies


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    """An HttpOnly, SameSite=Lax cookie for the dashboard's paths."""
    response.set_cookie(
        name,
        value,
        path=UI_PREFIX.rstrip("/"),
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
    )


def form_token(request: web.Request) -> str:
    """The double-submit value of a form shown before sign-in (the browser's, or a new one)."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)


async def check_form_token(request: web.Request) -> None:
    """Refuse a pre-session form whose field does not match its cookie (403)."""
    form = await request.post()
    _compare(request.cookies.get(FORM_COOKIE), form.get(CSRF_FIELD))


def _compare(expected: str | None, given: object) -> None:
    if not expected or not isinstance(given, str) or not given:
        raise Forbidden("the form's CSRF token is missing; reload the page", code="CSRF_MISSING")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("the form's CSRF token is wrong; reload the page", code="CSRF_INVALID")


async def _check_csrf(request: web.Request, viewer: Viewer) -> None:
    given: object = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        given = (await request.post()).get(CSRF_FIELD)  # kept: the handler reads it again
    _compare(viewer.csrf_token, given)


async def _viewer(request: web.Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    viewer = None
    if token:
        async with request.app[READ_SESSIONMAKER].begin() as session:
            viewer = await find_viewer(session, token)
    if viewer is None:
        raise Unauthorized(
            "you are not signed in: send /web to the bot for a sign-in link",
            code="SIGN_IN_REQUIRED",
        )
    return viewer


def viewer_of(request: web.Request) -> Viewer:
    """The signed-in viewer of a guarded request."""
    return request[VIEWER]


def person_of(request: web.Request) -> Account:
    """The signed-in person's account (an operator session has none: 403)."""
    account = request[VIEWER].account
    if account is None:
        raise Forbidden("this page is for people signed in from a bot's link")
    return account


def require_operator(request: web.Request) -> None:
    """Refuse anyone but an operator (403)."""
    if not request[VIEWER].is_operator:
        raise Forbidden("this page is for operators: sign in at /ui/operator/sign-in")


def refusal_page(request: web.Request, error: DomainError) -> web.Response:
    """A refusal as a page: what happened, in the refusal's own words and status."""
    status = LINK_STATUS.get(error.code, status_of(error))
    return aiohttp_jinja2.render_template(
        "refused.html",
        request,
        {"status": status, "code": error.code, "message": error.message, "viewer": None},
        status=status,
    )


@web.middleware
async def web_session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session of a `/ui/` request, check its CSRF token, render refusals."""
    if not _is_ui(request.path):
        return await handler(request)
    try:
        if not request.path.startswith(OPEN_PREFIXES):
            viewer = await _viewer(request)
            request[VIEWER] = viewer
            if request.method in UNSAFE_METHODS:
                await _check_csrf(request, viewer)
        return await handler(request)
    except DomainError as exc:
        if request.path.startswith(API_PREFIX):
            raise
        return refusal_page(request, exc)
    except ValidationError as exc:
        if request.path.startswith(API_PREFIX):
            raise
        # The RPC's own message, so a page and a bot's call are refused in the same words.
        return refusal_page(request, InvalidInput(validation_message(exc)))
