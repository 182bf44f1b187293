"""Webhook mode of the Telegram bot: Telegram POSTs each update to our aiohttp server.

aiogram's own request handler does the work: it refuses a request whose
`X-Telegram-Bot-Api-Secret-Token` is not the secret we registered (401, the update is never
fed to the dispatcher), and answers a good one at once while the update is handled in the
background, so a slow daemon never makes Telegram time out and redeliver.
"""

import asyncio
import contextlib
import hashlib
import hmac
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bots.common.settings import BotSettings


def webhook_secret(settings: BotSettings) -> str:
    """The secret token: the configured one, else one derived from the bot token.

    Derived, it is the same on every replica and across restarts (they share the token) and
    does not reveal the token: HMAC-SHA256 of a fixed label, 64 hex characters.
    """
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_token is None:
        raise SystemExit("LORABOT_TELEGRAM_TOKEN is not set")
    key = settings.telegram_token.get_secret_value().encode()
    return hmac.new(key, b"lorabot telegram webhook secret", hashlib.sha256).hexdigest()


def webhook_path(settings: BotSettings) -> str:
    """The path the server answers on: the configured one, else the webhook URL's own."""
    if settings.telegram_webhook_path is not None:
        return settings.telegram_webhook_path
    return urlsplit(settings.telegram_webhook_url or "").path or "/"


def webhook_app(bot: Bot, dp: Dispatcher, settings: BotSettings) -> web.Application:
    """The aiohttp application that feeds the dispatcher the updates Telegram posts."""
    app = web.Application()
    handler = SimpleRequestHandler(
        dp, bot, handle_in_background=True, secret_token=webhook_secret(settings)
    )
    handler.register(app, path=webhook_path(settings))
    # The dispatcher's startup and shutdown hooks run with the app, as polling runs them.
    setup_application(app, dp, bot=bot)
    return app


async def serve_webhook(
    bot: Bot, dp: Dispatcher, settings: BotSettings, *, handle_signals: bool = True
) -> None:
    """Listen, register the webhook with Telegram, and serve until cancelled or signalled.

    The webhook stays set when we stop: Telegram keeps the updates that arrive meanwhile and
    delivers them to whichever replica answers (or to this one once it is back), and another
    replica that still runs keeps receiving. Polling mode deletes it when it starts.
    """
    url = settings.telegram_webhook_url
    if url is None:
        raise ValueError("serve_webhook needs LORABOT_TELEGRAM_WEBHOOK_URL")
    runner = web.AppRunner(webhook_app(bot, dp, settings))
    await runner.setup()
    try:
        host, port = settings.telegram_webhook_host, settings.telegram_webhook_port
        await web.TCPSite(runner, host, port).start()
        # Set only once we listen, so the first delivery (pending updates too) finds us.
        await bot.set_webhook(
            url,
            secret_token=webhook_secret(settings),
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        await _until_stopped(handle_signals)
    finally:
        await runner.cleanup()


async def _until_stopped(handle_signals: bool) -> None:
    """Wait forever, or until SIGTERM/SIGINT when `handle_signals` (as polling does)."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    installed = []
    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(sig, stopped.set)
            installed.append(sig)
    try:
        await stopped.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
