"""The languages the bots speak, and which one a person gets.

A person's language is their own choice (`/language`) when they made one, else the one their
chat app reports (Telegram's `language_code`, Discord's locale) when the bots speak it, else
English. The bots' catalogs (`bots/locale/<language>/`) hold one language each of these.
Free of SQLAlchemy, so the bots use it too; `core.language_store` keeps it per identity.
"""

import re

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
