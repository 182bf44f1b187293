"""Sending screens and outgoing messages on Discord."""

import io
from typing import Any

import discord

from bots.common.delivery import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Screen
from bots.discord.widgets import screen_view

MAX_CONTENT = 2000


def actor(user: discord.abc.User | discord.Object) -> Actor:
    """The daemon's view of a Discord user."""
    return Actor(platform="discord", user_id=str(user.id))


def content(text: str) -> str:
    """Text cut to Discord's message limit."""
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


async def respond(
    interaction: discord.Interaction[Any],
    screen: Screen,
    feature: str,
    token: str = "",
    *,
    edit: bool = False,
    ephemeral: bool = False,
) -> None:
    """Answer an interaction with a screen: a new message, or an edit of the pressed one."""
    view = screen_view(screen, feature, interaction.user.id, token)
    text = content(screen.text)
    if edit:
        await interaction.response.edit_message(content=text, view=view)
    elif interaction.response.is_done():
        await interaction.followup.send(text, view=view, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(text, view=view, ephemeral=ephemeral)


async def send_outgoing(channel: discord.abc.Messageable, items: list[Outgoing]) -> None:
    """Send texts and files (documents and photos alike are attachments) in order."""
    for item in items:
        if item.kind is OutKind.text:
            await channel.send(content(item.text))
        else:
            file = discord.File(io.BytesIO(item.data), filename=item.filename)
            await channel.send(content(item.text), file=file)
