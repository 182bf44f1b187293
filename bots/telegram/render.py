"""Rendering screens and outgoing messages for Telegram, and waiting out 429 answers."""

import asyncio
from typing import Any

import structlog
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, User

from bots.common.delivery import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen
from bots.telegram.callbacks import Packer

log = structlog.get_logger(__name__)


def actor(user: User) -> Actor:
    """The daemon's view of a Telegram user."""
    return actor_for(user.id)


def actor_for(user_id: int) -> Actor:
    """The daemon's view of a Telegram user id."""
    return Actor(platform="telegram", user_id=str(user_id))


def keyboard(rows: list[list[Button]], pack: Packer) -> InlineKeyboardMarkup | None:
    """Inline keyboard of a screen's buttons (None when it has none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=pack(b)) for b in row]
            for row in rows
        ]
    )


def screen_kwargs(screen: Screen, pack: Packer) -> dict[str, Any]:
    """`text` and `reply_markup` of a screen, for answer / edit_text."""
    return {"text": screen.text, "reply_markup": keyboard(screen.rows, pack)}


async def edit(bot: Bot, chat_id: int, message_id: int, screen: Screen, pack: Packer) -> None:
    """Edit a message in place; an unchanged text is not an error."""
    try:
        await bot.edit_message_text(
            chat_id=chat_id, message_id=message_id, **screen_kwargs(screen, pack)
        )
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def send_outgoing(bot: Bot, chat_id: int, items: list[Outgoing]) -> None:
    """Send texts, documents and photos in order."""
    for item in items:
        if item.kind is OutKind.text:
            await bot.send_message(chat_id, item.text)
        elif item.kind is OutKind.document:
            file = BufferedInputFile(item.data, filename=item.filename)
            await bot.send_document(chat_id, file, caption=item.text or None)
        else:
            file = BufferedInputFile(item.data, filename=item.filename)
            await bot.send_photo(chat_id, file, caption=item.text or None)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Wait out Telegram's flood control (429 `retry_after`) and send again; aiogram does not."""

    def __init__(self, attempts: int = 5, max_wait: float = 120.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "telegram_retry_after", method=type(method).__name__, wait=exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
