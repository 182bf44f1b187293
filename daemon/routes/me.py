"""The acting account: who am I, my spending cap, and linking two chat identities into one
account."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import create_link_code, redeem_link_code
from core.db.models import Account
from core.language_store import identity_of, languages_of
from core.languages import resolve
from core.spending import spent_today
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import (
    AccountOut,
    LanguageIn,
    LanguageOut,
    LinkCodeOut,
    LinkIn,
    LinkOut,
    MeOut,
    MePatch,
)
from daemon.validation import parse_body

routes = web.RouteTableDef()


async def me_answer(request: web.Request, session: AsyncSession, account: Account) -> MeOut:
    """The acting account with what it spent today and the acting identity's language."""
    spent = await spent_today(session, account.id)
    platform, user_id = acting_identity(request)
    languages = await languages_of(session, platform, [user_id])
    extra = {"spent_today": spent, "language": languages[user_id]}
    return MeOut.model_validate(AccountOut.model_validate(account).model_dump() | extra)


@routes.get("/v1/me")
@describe(
    summary="The acting account: id, balance, identities, daily spending cap", response=MeOut
)
async def get_me(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return json_answer(await me_answer(request, session, account))


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
        return json_answer(await me_answer(request, session, account))


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


async def language_answer(request: web.Request, session: AsyncSession) -> LanguageOut:
    """The acting identity's language: its choice, its platform's locale, the one in use."""
    await acting_account(request, session)  # the identity exists from here on
    identity = await identity_of(session, *acting_identity(request))
    return LanguageOut(
        language=resolve(identity.language, identity.platform_locale),
        choice=identity.language,
        platform_locale=identity.platform_locale,
    )


@routes.get("/v1/me/language")
@describe(summary="The language the bots answer the acting identity in", response=LanguageOut)
async def get_language(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER].begin() as session:
        return json_answer(await language_answer(request, session))


@routes.put("/v1/me/language")
@describe(
    summary="Choose the bots' language for the acting identity (null: follow the platform's)",
    body=LanguageIn,
    response=LanguageOut,
    errors=(400,),
)
async def put_language(request: web.Request) -> web.Response:
    body = await parse_body(request, LanguageIn)
    async with request.app[SESSIONMAKER].begin() as session:
        await acting_account(request, session)
        identity = await identity_of(session, *acting_identity(request))
        identity.language = body.language
        await session.flush()
        return json_answer(await language_answer(request, session))
