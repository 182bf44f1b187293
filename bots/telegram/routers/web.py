"""/web: a one-time sign-in link to the web dashboard."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message

from bots.common import web
from bots.common.client import DaemonClient
from bots.telegram.render import actor


async def cmd_web(message: Message, client: DaemonClient) -> None:
    """Send the link (without a preview: Telegram would fetch the page, not use the link)."""
    assert message.from_user is not None
    screen = await web.web_link(client, actor(message.from_user))
    await message.answer(screen.text, link_preview_options=LinkPreviewOptions(is_disabled=True))


def build() -> Router:
    """The web router."""
    router = Router(name="web")
    router.message.register(cmd_web, Command("web"))
    return router
