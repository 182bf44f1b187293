"""discord.py's side of the two languages: command descriptions through an
`app_commands.Translator`, message texts in the locale set once per interaction."""

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation, TranslationContextTypes, locale_str

from bots.common import i18n, languages
from bots.discord.render import actor
from core.languages import DEFAULT_LANGUAGE, negotiate

# Names stay as they are: the texts and /help name the commands (`/train start`) in every
# language, as on Telegram, whose command names cannot be translated.
UNTRANSLATED = frozenset(
    {
        TranslationContextLocation.command_name,
        TranslationContextLocation.group_name,
        TranslationContextLocation.parameter_name,
    }
)


class CatalogTranslator(app_commands.Translator):
    """Command, group, parameter and choice descriptions from the bots' catalogs."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: TranslationContextTypes
    ) -> str | None:
        language = negotiate(locale.value)
        if context.location in UNTRANSLATED or language in (None, DEFAULT_LANGUAGE):
            return None
        with i18n.use_locale(language):
            translated = i18n.gettext(string.message)
        return translated if translated != string.message else None


async def localize(interaction: discord.Interaction[Any]) -> str:
    """Answer this interaction (its task, and what that task starts) in the person's language."""
    platform_locale = interaction.locale.value
    i18n.PLATFORM_LOCALE.set(platform_locale)  # the lookup reports it to the daemon
    client = interaction.client.client
    language = await languages.spoken(client, actor(interaction.user), platform_locale)
    return i18n.set_locale(language, platform_locale)
