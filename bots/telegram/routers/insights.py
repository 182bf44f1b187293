"""/stats and /spending: a short text with its chart picture."""

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message

from bots.common import insights
from bots.common.client import DaemonClient
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, send_outgoing


async def cmd_stats(message: Message, bot: Bot, client: DaemonClient) -> None:
    """Trainings, success rate, durations, job costs and datasets of the last 30 days."""
    assert message.from_user is not None
    items = await insights.stats(client, actor(message.from_user))
    await send_outgoing(bot, message.chat.id, items, packer(message.from_user.id))


async def cmd_spending(message: Message, bot: Bot, client: DaemonClient) -> None:
    """Costs by type of the last 30 days against the 30 before."""
    assert message.from_user is not None
    items = await insights.spending(client, actor(message.from_user))
    await send_outgoing(bot, message.chat.id, items, packer(message.from_user.id))


def build() -> Router:
    """The insights router."""
    router = Router(name="insights")
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_spending, Command("spending"))
    return router
