"""/activity; its Mark all read button goes through `routers.buttons`."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bots.common import activity
from bots.common.client import DaemonClient
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


async def cmd_activity(message: Message, client: DaemonClient) -> None:
    """The person's newest activity, unread ones marked."""
    assert message.from_user is not None
    screen = await activity.feed(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


def build() -> Router:
    """The activity router."""
    router = Router(name="activity")
    router.message.register(cmd_activity, Command("activity"))
    return router
