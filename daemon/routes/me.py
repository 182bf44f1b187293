"""The acting account: who am I, and linking two chat identities into one account."""

from aiohttp import web

from core.accounts import create_link_code, redeem_link_code
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import AccountOut, LinkCodeOut, LinkIn, LinkOut
from daemon.validation import parse_body

routes = web.RouteTableDef()


@routes.get("/v1/me")
@describe(summary="The acting account: id, balance, identities", response=AccountOut)
async def get_me(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return json_answer(AccountOut.model_validate(account))


@routes.post("/v1/me/link-code")
@describe(summary="Issue a one-time code to link another chat identity", response=LinkCodeOut)
async def post_link_code(request: web.Request) -> web.Response:
    ttl = request.app[SETTINGS].link_code_ttl_seconds
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        link = await create_link_code(session, account.id, ttl)
    return json_answer(
        LinkCodeOut(code=link.code, expires_at=link.expires_at, expires_in_seconds=ttl)
    )


@routes.post("/v1/me/link")
@describe(
    summary="Redeem a link code: merge the acting account into the code's account",
    body=LinkIn,
    response=LinkOut,
    errors=(400, 404, 409),
)
async def post_link(request: web.Request) -> web.Response:
    body = await parse_body(request, LinkIn)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        result = await redeem_link_code(session, body.code, account)
        answer = LinkOut.model_validate(result)
    return json_answer(answer)
