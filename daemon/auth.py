"""Bearer tokens for bots and operators, and the acting account from `X-User`."""

import hmac

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import account_for_identity, find_account_for_identity, parse_identity
from core.db.models import Account
from core.db.session import is_read_only
from core.enums import Platform
from core.errors import Forbidden, InvalidInput, Unauthorized
from daemon.errors import Handler, error_response, status_of
from daemon.keys import SESSIONMAKER, SETTINGS

PUBLIC_PATHS = frozenset({"/healthz", "/metrics", "/openapi.json"})


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _matches(given: str | None, expected: SecretStr) -> bool:
    return given is not None and hmac.compare_digest(
        given.encode(), expected.get_secret_value().encode()
    )


def check_token(request: web.Request) -> None:
    """Admin routes need the admin token (refused while unset); /v1 routes the RPC token."""
    settings = request.app[SETTINGS]
    path = request.path
    if path.startswith("/admin/") or path == "/admin":
        if settings.admin_token is None or not settings.admin_token.get_secret_value():
            raise Forbidden("admin routes are disabled: set LORABOT_ADMIN_TOKEN to enable them")
        if not _matches(_bearer(request), settings.admin_token):
            raise Unauthorized("missing or wrong admin token")
    elif path.startswith("/v1/"):
        if settings.rpc_token is None or not settings.rpc_token.get_secret_value():
            raise Unauthorized("RPC is disabled: set LORABOT_RPC_TOKEN on the daemon and the bots")
        if not _matches(_bearer(request), settings.rpc_token):
            raise Unauthorized("missing or wrong RPC token")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse calls without the right token before any handler runs."""
    if request.path not in PUBLIC_PATHS:
        try:
            check_token(request)
        except (Forbidden, Unauthorized) as exc:
            return error_response(status_of(exc), exc.code, exc.message)
    return await handler(request)


def acting_identity(request: web.Request) -> tuple[Platform, str]:
    """The `(platform, platform_user_id)` of the `X-User` header."""
    header = request.headers.get("X-User")
    if not header:
        raise InvalidInput("the X-User header (<platform>:<platform_user_id>) is required")
    return parse_identity(header)


async def acting_account(request: web.Request, session: AsyncSession) -> Account:
    """The account of the acting person, created with its identity on first sight.

    In a read session the account is looked up; only a first-sight person costs a write
    transaction of its own (the read session's snapshot then predates the new account, which
    owns nothing yet, so the rest of the read is unaffected).
    """
    platform, user_id = acting_identity(request)
    if not is_read_only(session):
        return await account_for_identity(session, platform, user_id)
    found = await find_account_for_identity(session, platform, user_id)
    if found is not None:
        return found
    async with request.app[SESSIONMAKER].begin() as writer:
        return await account_for_identity(writer, platform, user_id)
