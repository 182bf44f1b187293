"""/language; its buttons go through `buttons` like every other."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import languages
from bots.discord.buttons import respond
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class LanguageCog(BotCog, commands.Cog):
    """The top-level /language, answered privately."""

    @app_commands.command(name="language", description="The language I answer you in")
    async def language(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The language in use, and a button for each choice."""
        screen = await languages.choices(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)
