"""The languages the bots speak, and which one a person gets.

A person's language is their own choice (`/language`) when they made one, else the one their
chat app reports (Telegram's `language_code`, Discord's locale) when the bots speak it, else
English. The bots' catalogs (`bots/locale/<language>/`) hold one language each of these.
"""

import re
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Identity
from core.enums import Platform

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "ru")
# A BCP 47 tag as the platforms send them: `ru`, `en-US`, `pt_BR`, `zh-Hant-TW`.
LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")
MAX_LOCALE_CHARS = 16  # identities.platform_locale


def is_locale(value: str) -> bool:
    """Whether `value` is a platform locale tag the daemon stores."""
    return len(value) <= MAX_LOCALE_CHARS and LOCALE_PATTERN.match(value) is not None


def negotiate(locale: str | None) -> str | None:
    """The bots' language for a platform locale (`ru-RU` → `ru`), None when they lack it."""
    if not locale:
        return None
    primary = re.split(r"[-_]", locale, maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else None


def resolve(language: str | None, platform_locale: str | None) -> str:
    """The language to speak: the chosen one, else the platform's when spoken, else English."""
    return language or negotiate(platform_locale) or DEFAULT_LANGUAGE


async def record_platform_locale(
    session: AsyncSession, platform: Platform | str, user_id: str, locale: str
) -> bool:
    """Store the locale a platform reported for an identity; False when none is known yet."""
    result = await session.execute(
        update(Identity)
        .where(Identity.platform == str(platform), Identity.platform_user_id == user_id)
        .values(platform_locale=locale)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def identity_of(session: AsyncSession, platform: Platform | str, user_id: str) -> Identity:
    """The identity row of `(platform, user_id)`; the caller has made sure it exists."""
    identity = await session.scalar(
        select(Identity).where(
            Identity.platform == str(platform), Identity.platform_user_id == user_id
        )
    )
    if identity is None:
        raise LookupError(f"no identity {platform}:{user_id}")
    return identity


async def languages_of(
    session: AsyncSession, platform: Platform | str, user_ids: Iterable[str]
) -> dict[str, str]:
    """The language each of a platform's users is answered in (English for unknown ones)."""
    wanted = set(user_ids)
    rows = await session.execute(
        select(Identity.platform_user_id, Identity.language, Identity.platform_locale).where(
            Identity.platform == str(platform), Identity.platform_user_id.in_(wanted)
        )
    )
    found = {user_id: resolve(language, locale) for user_id, language, locale in rows}
    return {user_id: found.get(user_id, DEFAULT_LANGUAGE) for user_id in wanted}
