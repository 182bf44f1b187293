"""/generate: images with one of the person's LoRAs; the logic lives in `bots.common.generate`."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common.generate import GenerateFlow, GenerateState
from bots.discord.answering import PUBLIC
from bots.discord.buttons import respond
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class GenerateCog(BotCog, commands.Cog):
    """The top-level /generate; its buttons and the prompt's modal go through `buttons`."""

    @app_commands.command(
        name="generate",
        description="Generate images with one of your LoRAs",
        extras={PUBLIC: True},
    )
    async def generate(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Start the conversation: the person's models."""
        flow = GenerateFlow(self.bot.client, actor(interaction.user), GenerateState())
        async with self.bot.journeys.lock(interaction.user.id):
            screen = await flow.begin()
            talk = await self.bot.journeys.load(interaction.user)
            talk.held.generating = flow.state
            await self.bot.journeys.save(talk)
        await respond(interaction, screen, flow.state.token)
