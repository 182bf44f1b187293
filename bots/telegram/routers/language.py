"""/language; its buttons go through `routers.buttons` like every other."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bots.common import languages
from bots.common.client import DaemonClient
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


async def cmd_language(message: Message, client: DaemonClient) -> None:
    """The language in use, and a button for each choice."""
    assert message.from_user is not None
    screen = await languages.choices(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


def build() -> Router:
    """The language router."""
    router = Router(name="language")
    router.message.register(cmd_language, Command("language"))
    return router
