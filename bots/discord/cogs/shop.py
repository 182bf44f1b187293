"""/buy with Discord's premium purchase buttons, and crediting the entitlements they create.

A bought consumable SKU arrives as `ENTITLEMENT_CREATE`: the daemon credits it (once per
entitlement id), then it is consumed and the buyer gets a receipt by DM. Entitlements the bot
missed while offline are still unconsumed, so each `on_ready` credits those too.
"""

from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bots.common import shop
from bots.common.errors import DaemonUnavailable, RpcError
from bots.common.screens import Screen
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content

if TYPE_CHECKING:
    from bots.discord.main import LoraBot

log = structlog.get_logger(__name__)
MAX_BUTTONS = 25  # Discord: five rows of five


class ShopCog(BotCog, commands.Cog):
    """The top-level /buy and the entitlement events."""

    @app_commands.command(name="buy", description="Buy points")
    async def buy(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """The packs sold on Discord, each with its purchase button."""
        screen, packs = await shop.discord_shop(self.bot.client, actor(interaction.user))
        view = discord.ui.View(timeout=None)
        for pack in packs[:MAX_BUTTONS]:
            assert pack.discord_sku_id is not None
            view.add_item(discord.ui.Button[Any](sku_id=int(pack.discord_sku_id)))
        await interaction.followup.send(content(screen.text), view=view, ephemeral=True)

    @commands.Cog.listener()
    async def on_entitlement_create(self, entitlement: discord.Entitlement) -> None:
        """A purchase: credit, consume, tell the buyer."""
        await self.redeem(entitlement)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Credit what was bought while the bot was away (unconsumed entitlements)."""
        if self.bot.application_id is None:
            return
        try:
            async for entitlement in self.bot.entitlements(limit=None, exclude_ended=True):
                if not entitlement.consumed:
                    await self.redeem(entitlement)
        except discord.HTTPException as exc:
            log.warning("entitlements_unlisted", error=repr(exc))

    async def redeem(self, entitlement: discord.Entitlement) -> None:
        """Credit an entitlement once, then consume it; an unknown SKU stays unconsumed."""
        if entitlement.user_id is None or entitlement.consumed or entitlement.deleted:
            return  # not a person's one-time purchase, or already dealt with
        try:
            redemption = await shop.credit_entitlement(
                self.bot.client,
                actor(discord.Object(entitlement.user_id)),
                entitlement.id,
                entitlement.sku_id,
            )
        except (RpcError, DaemonUnavailable) as exc:
            # Left unconsumed: the next start-up's sweep (or a redelivery) credits it.
            log.error("entitlement_not_credited", entitlement_id=entitlement.id, error=str(exc))
            return
        if not redemption.credited:
            return
        try:
            await entitlement.consume()
        except discord.HTTPException as exc:
            # Credited already: consuming again later is all that is left to do.
            log.warning("entitlement_not_consumed", entitlement_id=entitlement.id, error=str(exc))
        if redemption.receipt is not None:
            await self._tell(entitlement.user_id, redemption.receipt)

    async def _tell(self, user_id: int, receipt: Screen) -> None:
        try:
            user = await self.bot.fetch_user(user_id)
            await user.send(content(receipt.text))
        except discord.HTTPException as exc:
            log.warning("receipt_not_sent", user_id=user_id, error=str(exc))
