"""/activity; its Mark all read button goes through `buttons` like every other."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common.activity import feed
from bots.discord.buttons import respond
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class ActivityCog(BotCog, commands.Cog):
    """The top-level /activity, answered privately."""

    @app_commands.command(
        name="activity", description="Your recent trainings, points and earnings"
    )
    async def activity(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The person's newest activity, unread ones marked."""
        screen = await feed(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)
