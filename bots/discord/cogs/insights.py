"""/stats and /spending: a short text with its chart picture, answered privately."""

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import insights
from bots.common.outgoing import Outgoing
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


async def _answer(interaction: discord.Interaction["LoraBot"], item: Outgoing) -> None:
    file = discord.File(io.BytesIO(item.data), filename=item.filename)
    await interaction.followup.send(content(item.text), file=file, ephemeral=True)


class InsightsCog(BotCog, commands.Cog):
    """The top-level /stats and /spending."""

    @app_commands.command(name="stats", description="Your trainings, costs and datasets")
    async def stats(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Trainings, success rate, durations, job costs and datasets of the last 30 days."""
        (item,) = await insights.stats(self.bot.client, actor(interaction.user))
        await _answer(interaction, item)

    @app_commands.command(name="spending", description="What you spent, bought and earned")
    async def spending(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Costs by type of the last 30 days against the 30 before."""
        (item,) = await insights.spending(self.bot.client, actor(interaction.user))
        await _answer(interaction, item)
