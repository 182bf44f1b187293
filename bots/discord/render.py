"""Discord's view of a user, and sending texts and files within its limits."""

import io

import discord

from bots.common.delivery import Outgoing, OutKind
from bots.common.schemas import Actor

MAX_CONTENT = 2000


def actor(user: discord.abc.User | discord.Object) -> Actor:
    """The daemon's view of a Discord user."""
    return Actor(platform="discord", user_id=str(user.id))


def content(text: str) -> str:
    """Text cut to Discord's message limit."""
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


async def send_outgoing(channel: discord.abc.Messageable, items: list[Outgoing]) -> None:
    """Send texts and files (documents and photos alike are attachments) in order."""
    for item in items:
        if item.kind is OutKind.text:
            await channel.send(content(item.text))
        else:
            file = discord.File(io.BytesIO(item.data), filename=item.filename)
            await channel.send(content(item.text), file=file)
