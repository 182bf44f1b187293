"""The acting account: who am I, and linking two chat identities into one account."""

from aiohttp import web

from core.accounts import create_link_code, redeem_link_code
from core.db.models import Account
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import AccountOut, LinkCodeOut, LinkIn, LinkOut
from daemon.validation import parse_body

routes = web.RouteTableDef()


def account_view(account: Account) -> dict:
    """The JSON shape of an account."""
    return {
        "id": account.id,
        "balance": account.balance,
        "identities": [
            {"platform": i.platform, "platform_user_id": i.platform_user_id}
            for i in account.identities
        ],
        "created_at": account.created_at.isoformat(),
    }


@routes.get("/v1/me")
@describe(summary="The acting account: id, balance, identities", response=AccountOut)
async def get_me(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return web.json_response(account_view(account))


@routes.post("/v1/me/link-code")
@describe(summary="Issue a one-time code to link another chat identity", response=LinkCodeOut)
async def post_link_code(request: web.Request) -> web.Response:
    ttl = request.app[SETTINGS].link_code_ttl_seconds
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        link = await create_link_code(session, account.id, ttl)
    return web.json_response(
        {"code": link.code, "expires_at": link.expires_at.isoformat(), "expires_in_seconds": ttl}
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
        answer = {
            "account": account_view(result.account),
            "moved_points": result.moved_points,
            "merged_account_id": result.merged_account_id,
        }
    return web.json_response(answer)
