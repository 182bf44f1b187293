"""/web: a one-time sign-in link to the web dashboard (ephemeral: only the person sees it)."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import web
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class WebCog(BotCog, commands.Cog):
    """The dashboard's sign-in link."""

    @app_commands.command(name="web", description="A sign-in link to the web dashboard")
    async def web(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Send the link privately."""
        screen = await web.web_link(self.bot.client, actor(interaction.user))
        await interaction.followup.send(content(screen.text), ephemeral=True)
