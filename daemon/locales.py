"""The platform locale the bots report with each call (`X-User-Locale`), kept per identity."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from core.accounts import account_for_identity
from core.errors import InvalidInput
from core.language_store import record_platform_locale
from core.languages import MAX_LOCALE_CHARS, is_locale
from daemon.auth import acting_identity
from daemon.errors import Handler
from daemon.keys import SESSIONMAKER

LOCALE_HEADER = "X-User-Locale"
# Locales this process last stored, so an unchanged one costs no write; bounded, then started
# afresh (a forgotten one is merely written once more).
MAX_REMEMBERED = 10_000
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def platform_locale_middleware() -> Middleware:
    """Store an identity's reported locale when it changes, before the handler reads it."""
    stored: dict[tuple[str, str], str] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        locale = request.headers.get(LOCALE_HEADER)
        if (
            locale is None
            or not request.path.startswith("/v1/")
            or "X-User" not in request.headers
        ):
            return await handler(request)
        if not is_locale(locale):
            raise InvalidInput(
                f"{LOCALE_HEADER} must be a language tag like 'ru' or 'en-US' "
                f"(at most {MAX_LOCALE_CHARS} characters)"
            )
        platform, user_id = acting_identity(request)
        key = (platform.value, user_id)
        if stored.get(key) != locale:
            async with request.app[SESSIONMAKER].begin() as session:
                await account_for_identity(session, platform, user_id)
                await record_platform_locale(session, platform, user_id, locale)
            if len(stored) >= MAX_REMEMBERED:
                stored.clear()
            stored[key] = locale
        return await handler(request)

    return middleware
