"""aiogram's i18n on the bots' catalogs: each update is answered in its sender's language."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bots.common import i18n, languages
from bots.common.client import DaemonClient
from bots.telegram.render import actor


class CatalogI18n(I18n):
    """aiogram's `I18n` reading `bots.common.i18n`'s catalogs and locale variable, so the
    common texts and aiogram's own `gettext` follow the same locale."""

    def __init__(self) -> None:
        super().__init__(path=i18n.LOCALE_DIR, default_locale=i18n.DEFAULT_LANGUAGE)
        self.ctx_locale = i18n.LOCALE

    def find_locales(self) -> dict[str, Any]:
        return dict(i18n.catalogs())


class PersonLocale(I18nMiddleware):
    """The locale of an update: the sender's choice (/language), else their app's language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.i18n.default_locale
        client: DaemonClient = data["client"]
        return await languages.spoken(client, actor(user), user.language_code)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        # Reported to the daemon with each call made for this update (`X-User-Locale`).
        reported = i18n.PLATFORM_LOCALE.set(user.language_code if user else None)
        try:
            return await super().__call__(handler, event, data)
        finally:
            i18n.PLATFORM_LOCALE.reset(reported)
