"""The bots' languages: gettext catalogs read from `bots/locale/<lang>/LC_MESSAGES/*.po` at
start, and the person being answered in context variables.

The texts modules mark each sentence with `_()`: a lazy string that becomes its translation in
the current locale wherever it is formatted, joined or `str()`-ed. `ngettext` picks a plural form
(Russian has three). Telegram sets the locale in aiogram's i18n middleware, Discord once per
interaction, the notifier per notification (`use_locale`); tasks started meanwhile (the live
progress messages) inherit it.

The `.po` files are compiled in memory when first needed (Babel), so no binary catalog lives in
git and a translation edited in the `.po` file is what runs, with nothing to rebuild.
"""

import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import cast

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

from core.languages import DEFAULT_LANGUAGE, LANGUAGES, negotiate

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

# The language the current person is answered in.
LOCALE: ContextVar[str] = ContextVar("lorabot_locale", default=DEFAULT_LANGUAGE)
# The locale their chat app reported, sent to the daemon with every call (`X-User-Locale`).
PLATFORM_LOCALE: ContextVar[str | None] = ContextVar("lorabot_platform_locale", default=None)


def compile_po(path: Path) -> Translations:
    """A `.po` file as gettext translations (fuzzy entries left out, as `msgfmt` does)."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=path.parent.parent.name, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def catalogs() -> dict[str, gettext_module.NullTranslations]:
    """Every language's translations; English is the source text itself."""
    loaded: dict[str, gettext_module.NullTranslations] = {
        DEFAULT_LANGUAGE: gettext_module.NullTranslations()
    }
    for language in LANGUAGES:
        if language != DEFAULT_LANGUAGE:
            loaded[language] = compile_po(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po")
    return loaded


def translations() -> gettext_module.NullTranslations:
    """The current person's translations."""
    found = catalogs()
    return found.get(LOCALE.get(), found[DEFAULT_LANGUAGE])


def gettext(message: str) -> str:
    """`message` in the current person's language, now."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form for `n` in the current person's language, now."""
    return translations().ngettext(singular, plural, n)


def _(message: str) -> str:
    """`message` marked for translation, translated each time it is used (a lazy string).

    Typed as `str`, which it stands in for: `.format()`, `+`, `str()` and f-strings all see
    the translation in the locale current at that moment.
    """
    return cast(str, LazyProxy(gettext, message, enable_cache=False))


def filled(text: str, **fields: object) -> str:
    """A lazy text with some of its `{fields}` filled now (limits, say) and translated each
    time it is used, like `_`; the rest stay for a later `.format()`."""
    return cast(str, LazyProxy(lambda: str(text).format_map(_Keep(fields)), enable_cache=False))


class _Keep(dict[str, object]):
    """Leaves a `{field}` that is not filled as it is, for a later `.format()`."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def set_locale(language: str | None, platform_locale: str | None = None) -> str:
    """Answer in `language` (else the platform locale's, else English) from here on, in this
    task and the tasks it starts (an interaction's own task, say)."""
    chosen = language if language in catalogs() else None
    chosen = chosen or negotiate(platform_locale) or DEFAULT_LANGUAGE
    LOCALE.set(chosen)
    PLATFORM_LOCALE.set(platform_locale)
    return chosen


@contextmanager
def use_locale(language: str | None, platform_locale: str | None = None) -> Iterator[str]:
    """Answer in `language` (else the platform locale's, else English) within the block."""
    chosen = language if language in catalogs() else None
    chosen = chosen or negotiate(platform_locale) or DEFAULT_LANGUAGE
    token = LOCALE.set(chosen)
    reported = PLATFORM_LOCALE.set(platform_locale)
    try:
        yield chosen
    finally:
        PLATFORM_LOCALE.reset(reported)
        LOCALE.reset(token)
