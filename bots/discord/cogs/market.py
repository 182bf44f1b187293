"""/explore datasets, /explore models and /earnings list; buttons go through `buttons`."""

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import market, publishing
from bots.discord.buttons import respond
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor
from core.enums import ItemKind

if TYPE_CHECKING:
    from bots.discord.main import LoraBot

SortChoice = Literal["newest", "most_used"]
SEARCH_HELP = {
    "search": "Words in the name",
    "tag": "A tag, e.g. portrait",
    "sort": "Newest or most used first",
}


class MarketCog(BotCog, commands.Cog):
    """Browsing the public datasets and LoRAs, and what one's own published work has earned."""

    explore = app_commands.Group(name="explore", description="Browse public datasets and LoRAs")
    earnings = app_commands.Group(name="earnings", description="What your published work earned")

    @explore.command(name="datasets", description="Public datasets you can train on")
    @app_commands.describe(**SEARCH_HELP)
    async def explore_datasets(
        self,
        interaction: discord.Interaction["LoraBot"],
        search: str | None = None,
        tag: str | None = None,
        sort: SortChoice = "newest",
    ) -> None:
        await self._explore(interaction, market.search(ItemKind.dataset, search, tag, sort))

    @explore.command(name="models", description="Public LoRAs you can download")
    @app_commands.describe(**SEARCH_HELP)
    async def explore_models(
        self,
        interaction: discord.Interaction["LoraBot"],
        search: str | None = None,
        tag: str | None = None,
        sort: SortChoice = "newest",
    ) -> None:
        await self._explore(interaction, market.search(ItemKind.model, search, tag, sort))

    @earnings.command(name="list", description="What each of your published items has earned")
    async def list_earnings(self, interaction: discord.Interaction["LoraBot"]) -> None:
        screen = await publishing.earnings(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, ephemeral=True)

    async def _explore(
        self, interaction: discord.Interaction["LoraBot"], listing: market.Listing
    ) -> None:
        # Ephemeral: a person's browsing is theirs; the cards opened from it are posted.
        screen = await market.listing(self.bot.client, actor(interaction.user), listing)
        await respond(interaction, screen, ephemeral=True)
