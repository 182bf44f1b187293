"""The bots' message catalog: every text the sources mark, and `ru` kept up to date with them.

`python -m bots.catalog` (`make messages`) adds each new source text to every language's `.po`
file with an empty translation and drops the ones no source uses any more; the completeness
test (`tests/bots/test_catalog.py`) fails until each is translated.
"""

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from discord import app_commands

from bots.common.i18n import DOMAIN, LOCALE_DIR
from core.languages import DEFAULT_LANGUAGE, LANGUAGES

SOURCES = Path(__file__).resolve().parent
# `_` marks a text (lazy), `gettext`/`ngettext` translate at once; `ngettext` has two forms.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
MessageId = str | tuple[str, str]


def marked_messages() -> Iterator[tuple[MessageId, str]]:
    """The texts marked in the bots' sources, with where each is (`path:line`)."""
    for path, line, message, _comments, _context in extract_from_dir(
        SOURCES, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
    ):
        yield message, f"bots/{path}:{line}"


def discord_command_texts() -> Iterator[str]:
    """Descriptions of the Discord commands, groups, parameters and choices (translated by
    `bots.discord.i18n.CatalogTranslator`, unmarked in the cogs as discord.py expects)."""
    import bots.discord.cogs as package
    from bots.discord.cogs.base import BotCog

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    for cog in BotCog.__subclasses__():
        group = getattr(cog, "__cog_group_description__", None)
        if getattr(cog, "__cog_is_app_commands_group__", False) and group:
            yield str(group)
        for command in cog.__cog_app_commands__:
            yield from _command_texts(command)


def _command_texts(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
) -> Iterator[str]:
    yield str(command.description)
    if isinstance(command, app_commands.Group):
        for sub in command.commands:
            yield from _command_texts(sub)
        return
    for parameter in command.parameters:
        yield str(parameter.description)
        yield from (str(choice.name) for choice in parameter.choices)


def source_catalog() -> Catalog:
    """Every text the bots can say, as a template."""
    template = Catalog(domain=DOMAIN)
    for message, where in marked_messages():
        template.add(message, locations=[(where, None)])
    for text in discord_command_texts():
        if text and text != "…":
            template.add(text, locations=[("bots/discord/cogs", None)])
    return template


def po_path(language: str) -> Path:
    """Where a language's catalog lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def update() -> None:
    """Bring every translated language's `.po` file up to date with the sources."""
    template = source_catalog()
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        path = po_path(language)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=language, domain=DOMAIN)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project="lorabot")
        template.creation_date = catalog.creation_date  # no date churn in the file's header
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: its plural rule is the language's own
        catalog.obsolete.clear()
        with path.open("wb") as po:
            write_po(po, catalog, width=99, include_lineno=False, include_previous=False)
        missing = sum(1 for m in catalog if m.id and not all(_forms(m.string)))
        print(f"{path}: {len(catalog)} messages, {missing} to translate")


def _forms(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


if __name__ == "__main__":
    update()
