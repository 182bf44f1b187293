"""The web dashboard's sign-in link, asked for by a bot on behalf of the acting person."""

from aiohttp import web

from core.web_sign_in import issue_link
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import WebLinkOut
from daemon.web.paths import sign_in_path

routes = web.RouteTableDef()


@routes.post("/v1/web/link")
@describe(
    summary="A one-time link that signs the acting person in to the web dashboard",
    response=WebLinkOut,
)
async def post_web_link(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    ttl = settings.web_link_ttl_seconds
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        link = await issue_link(session, account.id, ttl_seconds=ttl)
    url = settings.web_base_url + sign_in_path(link.token)
    return json_answer(WebLinkOut(url=url, expires_at=link.expires_at, expires_in_seconds=ttl))
