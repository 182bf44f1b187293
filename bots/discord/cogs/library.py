"""/datasets, /models and /jobs; their buttons go through `bots.discord.buttons`."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import library
from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.screens import Screen
from bots.discord.buttons import respond
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class LibraryCog(BotCog, commands.Cog):
    """The person's datasets, models and jobs: one group each, whose `list` shows the list."""

    datasets = app_commands.Group(name="datasets", description="Your datasets")
    models = app_commands.Group(name="models", description="Your trained LoRAs")
    jobs = app_commands.Group(name="jobs", description="Your trainings")

    @datasets.command(name="list", description="Your datasets")
    async def list_datasets(self, interaction: discord.Interaction["LoraBot"]) -> None:
        await self._show(interaction, library.datasets)

    @models.command(name="list", description="Your trained LoRAs")
    async def list_models(self, interaction: discord.Interaction["LoraBot"]) -> None:
        await self._show(interaction, library.models)

    @jobs.command(name="list", description="Status of your trainings")
    async def list_jobs(self, interaction: discord.Interaction["LoraBot"]) -> None:
        await self._show(interaction, library.jobs)

    async def _show(
        self,
        interaction: discord.Interaction["LoraBot"],
        screen_of: Callable[[DaemonClient, Actor], Awaitable[Screen]],
    ) -> None:
        # Ephemeral: the lists are private information.
        screen = await screen_of(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)
