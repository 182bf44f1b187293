"""`lorabot telegram` and `lorabot discord`: run a bot against the daemon's RPC."""

import argparse
import asyncio
from typing import Any

from pydantic import ValidationError

from bots.common.settings import BotSettings
from core.logging import configure_logging


def _settings(token_field: str, **overrides: Any) -> BotSettings:
    try:
        settings = BotSettings(**overrides)
    except ValidationError as exc:
        # One line per setting, named as the operator sets it, with our own words.
        problems = [
            f"LORABOT_{str(e['loc'][0]).upper()}: {e.get('ctx', {}).get('error', e['msg'])}"
            for e in exc.errors()
        ]
        raise SystemExit("\n".join(problems)) from None
    if getattr(settings, token_field) is None:
        # Checked before the platform library loads, so a misconfiguration fails at once.
        raise SystemExit(f"LORABOT_{token_field.upper()} is not set")
    return settings


def _run_telegram(args: argparse.Namespace) -> int:
    overrides = {"telegram_webhook_url": args.webhook} if args.webhook else {}
    settings = _settings("telegram_token", **overrides)
    from bots.telegram.main import run

    configure_logging(settings.log_level)
    asyncio.run(run(settings))
    return 0


def _run_discord(args: argparse.Namespace) -> int:
    settings = _settings("discord_token")
    from bots.discord.main import run

    configure_logging(settings.log_level)
    asyncio.run(run(settings))
    return 0


def add_bot_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the `telegram` and `discord` subcommands."""
    tg = subparsers.add_parser(
        "telegram", help="Run the Telegram bot (LORABOT_TELEGRAM_TOKEN, LORABOT_DAEMON_URL...)."
    )
    tg.add_argument(
        "--webhook",
        metavar="URL",
        help="Serve a webhook Telegram posts updates to at this public URL instead of long "
        "polling (LORABOT_TELEGRAM_WEBHOOK_URL; listens on LORABOT_TELEGRAM_WEBHOOK_HOST/PORT).",
    )
    tg.set_defaults(func=_run_telegram)
    dc = subparsers.add_parser(
        "discord", help="Run the Discord bot (LORABOT_DISCORD_TOKEN, LORABOT_DAEMON_URL...)."
    )
    dc.set_defaults(func=_run_discord)
