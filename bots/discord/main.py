"""Wiring of the Discord bot: a `commands.Bot` given its services, cogs added in setup_hook."""

import asyncio
from typing import Any

import discord
import structlog
import yarl
from discord.ext import commands

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.delivery import run_notifier
from bots.common.outgoing import Outgoing
from bots.common.progress import ProgressBoard
from bots.common.settings import BotSettings
from bots.discord.buttons import ActionButton, AnswerButton, resume_progress, views_for
from bots.discord.cogs.account import AccountCog
from bots.discord.cogs.activity import ActivityCog
from bots.discord.cogs.generate import GenerateCog
from bots.discord.cogs.insights import InsightsCog
from bots.discord.cogs.language import LanguageCog
from bots.discord.cogs.library import LibraryCog
from bots.discord.cogs.market import MarketCog
from bots.discord.cogs.shop import ShopCog
from bots.discord.cogs.train import TrainCog
from bots.discord.cogs.web import WebCog
from bots.discord.errors import Tree
from bots.discord.i18n import CatalogTranslator
from bots.discord.journeys import Journeys
from bots.discord.render import SampleMessages, send_outgoing
from daemon.schemas import NotificationOut

log = structlog.get_logger(__name__)


class LoraBot(commands.Bot):
    """The Discord front-end; talks to the daemon through `client` only."""

    def __init__(self, client: DaemonClient, settings: BotSettings) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # images posted as follow-up messages are content
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, tree_cls=Tree)
        self.client = client
        self.settings = settings
        self.progress = ProgressBoard(client, settings.progress_interval)
        self.journeys = Journeys(client)
        self.samples = SampleMessages()
        self._notifier: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Add the cogs and persistent buttons, sync commands, resume the progress messages of
        unfinished jobs, start delivering notifications."""
        cogs = (TrainCog, GenerateCog, LibraryCog, MarketCog, ShopCog, InsightsCog, ActivityCog)
        for cog in (*cogs, WebCog, LanguageCog):
            await self.add_cog(cog(self))
        await self.add_cog(AccountCog(self))
        self.add_dynamic_items(ActionButton, AnswerButton)
        await self.tree.set_translator(CatalogTranslator())
        guild = self.settings.discord_guild_id
        if guild is not None:
            self.tree.copy_global_to(guild=discord.Object(guild))
        await self.tree.sync(guild=discord.Object(guild) if guild is not None else None)
        await resume_progress(self)
        self._notifier = asyncio.create_task(
            run_notifier(
                self.client, "discord", self.deliver, wait=self.settings.notification_wait
            )
        )

    async def deliver(self, n: NotificationOut, items: list[Outgoing]) -> None:
        """By DM; if the person does not accept DMs, in the channel the job was started from."""
        user = await self.fetch_user(int(n.platform_user_id))
        views = views_for(user.id)
        try:
            await send_outgoing(await user.create_dm(), items, views, self.samples)
        except discord.Forbidden:
            channel_id = (n.payload.get("reply_to") or {}).get("channel_id")
            if not channel_id:
                raise
            channel = self.get_partial_messageable(int(channel_id))
            await channel.send(texts.NO_DM.format(mention=user.mention))
            await send_outgoing(channel, items, views, self.samples)

    async def close(self) -> None:
        """Stop the notifier and the progress messages, then disconnect."""
        if self._notifier is not None:
            self._notifier.cancel()
            await asyncio.gather(self._notifier, return_exceptions=True)
        await self.progress.close()
        await super().close()


def point_at(settings: BotSettings) -> None:
    """Use a REST proxy / gateway instead of discord.com when configured."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway)


async def run(settings: BotSettings, **_: Any) -> None:
    """Run the bot until cancelled."""
    if settings.discord_token is None:
        raise SystemExit("LORABOT_DISCORD_TOKEN is not set")
    point_at(settings)
    rpc_token = settings.rpc_token.get_secret_value() if settings.rpc_token else None
    async with (
        DaemonClient(settings.daemon_url, rpc_token) as client,
        LoraBot(client, settings) as bot,
    ):
        await bot.start(settings.discord_token.get_secret_value())
