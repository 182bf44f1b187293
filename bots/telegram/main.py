"""Wiring of the Telegram bot: session, dispatcher, routers, and the notification deliverer."""

import asyncio
import contextlib

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BotCommand

from bots.common import i18n
from bots.common.client import DaemonClient
from bots.common.delivery import Deliver, run_notifier
from bots.common.i18n import _
from bots.common.outgoing import Outgoing
from bots.common.progress import ProgressBoard
from bots.common.settings import BotSettings
from bots.telegram.callbacks import packer
from bots.telegram.i18n import CatalogI18n, PersonLocale
from bots.telegram.render import RetryAfterMiddleware, SampleMessages, send_outgoing
from bots.telegram.routers import build_routers
from bots.telegram.routers.train import resume_progress
from bots.telegram.storage import DaemonStorage, FlushStates
from bots.telegram.uploads import AlbumBuffer
from bots.telegram.webhook import serve_webhook
from core.languages import DEFAULT_LANGUAGE, LANGUAGES
from daemon.schemas import NotificationOut

log = structlog.get_logger(__name__)

COMMANDS = {
    "start": _("Welcome and your balance"),
    "train": _("Train a LoRA from your images"),
    "imagine": _("Generate images with one of your LoRAs"),
    "datasets": _("Your datasets"),
    "models": _("Your trained LoRAs"),
    "jobs": _("Your trainings"),
    "explore": _("Browse public datasets and LoRAs"),
    "earnings": _("What your published work has earned"),
    "stats": _("Your trainings, costs and datasets, with a chart"),
    "spending": _("What you spent, bought and earned, with a chart"),
    "activity": _("What happened: trainings, points, earnings"),
    "balance": _("Points and ledger"),
    "buy": _("Buy points with Telegram Stars"),
    "link": _("Join your Telegram and Discord accounts"),
    "web": _("A sign-in link to the web dashboard"),
    "language": _("The language I answer you in"),
    "help": _("What I can do"),
}


async def set_commands(bot: Bot) -> None:
    """The command menu in English for everyone, and in each other language for its users."""
    for language in LANGUAGES:
        with i18n.use_locale(language):
            menu = [BotCommand(command=c, description=str(d)) for c, d in COMMANDS.items()]
        code = None if language == DEFAULT_LANGUAGE else language
        await bot.set_my_commands(menu, language_code=code)


def build_bot(settings: BotSettings) -> Bot:
    """A Bot on an aiohttp session (pointed at a local Bot API server when configured)."""
    if settings.telegram_token is None:
        raise SystemExit("LORABOT_TELEGRAM_TOKEN is not set")
    api = settings.telegram_api_base
    session = AiohttpSession(api=TelegramAPIServer.from_base(api)) if api else AiohttpSession()
    session.middleware(RetryAfterMiddleware())
    return Bot(settings.telegram_token.get_secret_value(), session=session)


def build_dispatcher(client: DaemonClient, settings: BotSettings) -> Dispatcher:
    """A Dispatcher with every router and the services handlers ask for by name.

    Conversations live in the daemon (`DaemonStorage`), so a restart or a second replica
    continues them; on start-up the progress messages of unfinished jobs are edited again.
    """
    storage = DaemonStorage(client)
    dp = Dispatcher(
        storage=storage,
        client=client,
        progress=ProgressBoard(client, settings.progress_interval),
        albums=AlbumBuffer(),
    )
    # Outside the routers, so error handlers answer in the person's language too.
    dp.update.outer_middleware(PersonLocale(CatalogI18n()))
    dp.update.outer_middleware(FlushStates(storage))
    dp.include_routers(*build_routers())
    dp.startup.register(storage.attach)
    dp.startup.register(resume_progress)
    return dp


def deliverer(bot: Bot) -> Deliver:
    """Send a notification's messages to the user's private chat (its id is the user id)."""
    samples = SampleMessages()

    async def deliver(n: NotificationOut, items: list[Outgoing]) -> None:
        user_id = int(n.platform_user_id)
        await send_outgoing(bot, user_id, items, packer(user_id), samples)

    return deliver


async def poll(dp: Dispatcher, bot: Bot, handle_signals: bool) -> None:
    """Long-poll until stopped; cancelled, stop polling before returning.

    aiogram's `start_polling` waits on its polling tasks without cancelling them when it is
    itself cancelled: they would go on taking updates after the daemon client is closed.
    """
    polling = asyncio.ensure_future(
        dp.start_polling(bot, handle_signals=handle_signals, polling_timeout=20)
    )
    try:
        await asyncio.wait([polling])  # a cancellation interrupts this wait, not the polling
    finally:
        if not polling.done():
            with contextlib.suppress(RuntimeError):  # not started yet: nothing polls
                await dp.stop_polling()
            polling.cancel()  # nothing to do once it stopped
            await asyncio.gather(polling, return_exceptions=True)
    polling.result()  # not cancelled: polling ended; a failure of it is raised here


async def run(settings: BotSettings, *, handle_signals: bool = True) -> None:
    """Run the bot until cancelled: take updates (webhook or polling), deliver notifications."""
    rpc_token = settings.rpc_token.get_secret_value() if settings.rpc_token else None
    async with DaemonClient(settings.daemon_url, rpc_token) as client:
        bot = build_bot(settings)
        dp = build_dispatcher(client, settings)
        with contextlib.suppress(TelegramBadRequest, TelegramForbiddenError):
            await set_commands(bot)
        notifier = asyncio.create_task(
            run_notifier(client, "telegram", deliverer(bot), wait=settings.notification_wait)
        )
        try:
            if settings.telegram_webhook_url:
                await serve_webhook(bot, dp, settings, handle_signals=handle_signals)
            else:
                # getUpdates is refused while a webhook is set; its pending updates are kept.
                await bot.delete_webhook(drop_pending_updates=False)
                await poll(dp, bot, handle_signals)
        finally:
            notifier.cancel()
            await asyncio.gather(notifier, return_exceptions=True)
            await dp["progress"].close()
            await bot.session.close()
