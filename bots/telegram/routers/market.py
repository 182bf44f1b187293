"""/explore and /earnings; their buttons (and Publish's) go through `routers.buttons`."""

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bots.common import market, publishing
from bots.common.client import DaemonClient
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


async def cmd_explore(message: Message, command: CommandObject) -> None:
    """Browse datasets or LoRAs; `/explore cat #portrait` searches a name and a tag."""
    assert message.from_user is not None
    screen = market.choose(command.args or "")
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


async def cmd_earnings(message: Message, client: DaemonClient) -> None:
    """What the person's published items have earned."""
    assert message.from_user is not None
    screen = await publishing.earnings(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


def build() -> Router:
    """The marketplace router."""
    router = Router(name="market")
    router.message.register(cmd_explore, Command("explore"))
    router.message.register(cmd_earnings, Command("earnings"))
    return router
