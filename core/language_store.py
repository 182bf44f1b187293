"""Each identity's language in the database: its choice and its platform's reported locale."""

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Identity
from core.enums import Platform
from core.languages import DEFAULT_LANGUAGE, resolve


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
