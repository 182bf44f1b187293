"""/account start, balance, link, help."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import library, texts
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class AccountCog(
    BotCog, commands.GroupCog, group_name="account", group_description="Your account"
):
    """Welcome, points and linking; private answers are ephemeral."""

    @app_commands.command(name="start", description="Welcome, your balance and the next step")
    async def start(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Welcome."""
        screen = await library.start(self.bot.client, actor(interaction.user))
        await interaction.followup.send(content(screen.text), ephemeral=True)

    @app_commands.command(name="balance", description="Your points and recent ledger entries")
    async def balance(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Balance and ledger."""
        screen = await library.balance(self.bot.client, actor(interaction.user))
        await interaction.followup.send(content(screen.text), ephemeral=True)

    @app_commands.command(name="link", description="Join your Telegram and Discord accounts")
    @app_commands.describe(code="A code from /link on Telegram; leave empty to get a code")
    async def link(
        self, interaction: discord.Interaction["LoraBot"], code: str | None = None
    ) -> None:
        """Issue or redeem a link code."""
        who = actor(interaction.user)
        if code:
            screen = await library.link(self.bot.client, who, code)
        else:
            screen = await library.link_code(self.bot.client, who)
        await interaction.followup.send(content(screen.text), ephemeral=True)

    @app_commands.command(name="help", description="What this bot can do")
    async def help(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Help."""
        await interaction.followup.send(str(texts.HELP_DISCORD), ephemeral=True)
