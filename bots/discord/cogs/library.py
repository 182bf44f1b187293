"""/datasets, /models and /jobs; their buttons go through `bots.discord.buttons`."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import library
from bots.discord.buttons import respond
from bots.discord.render import actor

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class DatasetsCog(commands.GroupCog, group_name="datasets", group_description="Your datasets"):
    """List and open datasets."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Your datasets")
    async def list(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The person's datasets (ephemeral: private information)."""
        screen = await library.datasets(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)


class ModelsCog(commands.GroupCog, group_name="models", group_description="Your trained LoRAs"):
    """List and download models."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Your trained LoRAs")
    async def list(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The person's models."""
        screen = await library.models(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)


class JobsCog(commands.GroupCog, group_name="jobs", group_description="Your trainings"):
    """Job status and cancelling."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Status of your trainings")
    async def list(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The person's jobs."""
        screen = await library.jobs(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)
