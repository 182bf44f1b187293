"""Signing in (a bot's one-time link, or the admin token once) and signing out."""

import hmac

import aiohttp_jinja2
from aiohttp import web

from core.errors import Forbidden, Unauthorized
from core.web_sign_in import check_link, end_session, open_operator_session, redeem_link
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.web.pages import see_other
from daemon.web.paths import FORM_COOKIE, HOME, OPERATOR_HOME, SESSION_COOKIE, UI_PREFIX
from daemon.web.sessions import check_form_token, form_token, set_cookie, viewer_of

routes = web.RouteTableDef()


def _form_page(request: web.Request, template: str, **context: object) -> web.Response:
    token = form_token(request)
    response = aiohttp_jinja2.render_template(
        template, request, {"viewer": None, "form_token": token, **context}
    )
    set_cookie(request, response, FORM_COOKIE, token)
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in(request: web.Request, token: str, location: str) -> web.HTTPSeeOther:
    answer = see_other(location)
    set_cookie(request, answer, SESSION_COOKIE, token)
    answer.del_cookie(FORM_COOKIE, path=UI_PREFIX.rstrip("/"))
    return answer


@routes.get("/ui/sign-in/{token}")
async def sign_in_page(request: web.Request) -> web.Response:
    """The link's landing page: a button that signs in (a GET consumes nothing, so a chat's
    link preview cannot use the link up)."""
    async with request.app[READ_SESSIONMAKER].begin() as session:
        link = await check_link(session, request.match_info["token"])
    return _form_page(request, "sign_in.html", expires_at=link.expires_at)


@routes.post("/ui/sign-in/{token}")
async def sign_in(request: web.Request) -> web.Response:
    """Consume the link once and open a session."""
    await check_form_token(request)
    ttl = request.app[SETTINGS].web_session_ttl_seconds
    async with request.app[SESSIONMAKER].begin() as session:
        issued = await redeem_link(session, request.match_info["token"], session_ttl_seconds=ttl)
    raise _signed_in(request, issued.token, HOME)


@routes.get("/ui/operator/sign-in")
async def operator_sign_in_page(request: web.Request) -> web.Response:
    """The operators' form: the admin token, once."""
    return _form_page(request, "operator_sign_in.html")


@routes.post("/ui/operator/sign-in")
async def operator_sign_in(request: web.Request) -> web.Response:
    """Check the admin token and open an operator session."""
    await check_form_token(request)
    settings = request.app[SETTINGS]
    expected = settings.admin_token
    if expected is None or not expected.get_secret_value():
        raise Forbidden("operator sign-in is disabled: set LORABOT_ADMIN_TOKEN to enable it")
    given = (await request.post()).get("admin_token")
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode(), expected.get_secret_value().encode()
    ):
        raise Unauthorized("wrong admin token", code="WRONG_ADMIN_TOKEN")
    ttl = settings.web_session_ttl_seconds
    async with request.app[SESSIONMAKER].begin() as session:
        issued = await open_operator_session(session, session_ttl_seconds=ttl)
    raise _signed_in(request, issued.token, OPERATOR_HOME)


@routes.get("/ui/")
async def home(request: web.Request) -> web.Response:
    """The viewer's first page."""
    raise see_other(OPERATOR_HOME if viewer_of(request).is_operator else HOME)


@routes.post("/ui/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    """End the session (its row removed, its cookie cleared)."""
    async with request.app[SESSIONMAKER].begin() as session:
        await end_session(session, request.cookies[SESSION_COOKIE])
    response = aiohttp_jinja2.render_template("signed_out.html", request, {"viewer": None})
    response.del_cookie(SESSION_COOKIE, path=UI_PREFIX.rstrip("/"))
    return response
