"""/language, and the language each person is answered in (kept by the daemon)."""

from bots.common import i18n
from bots.common import language_texts as texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, RpcError
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen, StaleAction
from core.languages import LANGUAGES, negotiate
from daemon.schemas import LanguageOut

FOLLOW_APP = "auto"  # the button argument of "Follow my app"


async def spoken(client: DaemonClient, actor: Actor, platform_locale: str | None) -> str:
    """The person's language: their choice, else their app's; the app's if the daemon is out
    (or the bot is stopping: an update it still holds is answered as far as it can be)."""
    if client.closed:
        return negotiate(platform_locale) or i18n.DEFAULT_LANGUAGE
    try:
        return (await client.language(actor)).language
    except (DaemonUnavailable, RpcError):
        return negotiate(platform_locale) or i18n.DEFAULT_LANGUAGE


def _rows() -> list[list[Button]]:
    named = [Button(texts.LANGUAGE_NAMES[code], Action.language, code) for code in LANGUAGES]
    return [named, [Button(str(texts.BTN_FOLLOW_APP), Action.language, FOLLOW_APP)]]


def _choose_screen(current: LanguageOut) -> Screen:
    how = "" if current.choice else texts.FROM_APP
    name = texts.LANGUAGE_NAMES[current.language]
    return Screen(texts.CHOOSE.format(language=name, how=how), _rows())


async def choices(client: DaemonClient, actor: Actor) -> Screen:
    """The language in use and a button for each choice."""
    return _choose_screen(await client.language(actor))


async def choose(client: DaemonClient, actor: Actor, arg: str) -> Screen:
    """Keep the person's choice; the answer already speaks the new language."""
    if arg != FOLLOW_APP and arg not in LANGUAGES:
        raise StaleAction(arg)  # not a button this bot made
    chosen = await client.set_language(actor, None if arg == FOLLOW_APP else arg)
    with i18n.use_locale(chosen.language, i18n.PLATFORM_LOCALE.get()):
        if chosen.choice is None:
            name = texts.LANGUAGE_NAMES[chosen.language]
            return Screen(texts.FOLLOWING_APP.format(language=name))
        return Screen(str(texts.CHOSEN))
