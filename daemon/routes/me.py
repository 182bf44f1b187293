"""The acting account: who am I, my spending cap, and linking two chat identities into one
account."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import create_link_code, redeem_link_code
from core.db.models import Account
from core.spending import spent_today
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import AccountOut, LinkCodeOut, LinkIn, LinkOut, MeOut, MePatch
from daemon.validation import parse_body

routes = web.RouteTableDef()


async def me_answer(session: AsyncSession, account: Account) -> MeOut:
    """The acting account with what it spent today."""
    spent = await spent_today(session, account.id)
    return MeOut.model_validate(
        AccountOut.model_validate(account).model_dump() | {"spent_today": spent}
    )


@routes.get("/v1/me")
@describe(
    summary="The acting account: id, balance, identities, daily spending cap", response=MeOut
)
async def get_me(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return json_answer(await me_answer(session, account))


@routes.patch("/v1/me")
@describe(
    summary="Set or remove the daily spending cap", body=MePatch, response=MeOut, errors=(400,)
)
async def patch_me(request: web.Request) -> web.Response:
    body = await parse_body(request, MePatch)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        account.daily_spending_cap = body.daily_spending_cap
        await session.flush()
        return json_answer(await me_answer(session, account))


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
