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
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    User,
)

from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen
from bots.telegram.callbacks import Packer

log = structlog.get_logger(__name__)
MAX_ALBUM = 10  # photos in one Telegram media group


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


def _photo(part: Outgoing) -> BufferedInputFile:
    return BufferedInputFile(part.data, filename=part.filename)


async def _send_album(
    bot: Bot, chat_id: int, album: Outgoing, markup: InlineKeyboardMarkup | None
) -> None:
    """One photo with its caption and buttons, or a media group (2–10 photos, which cannot
    carry buttons) followed by the text with the buttons."""
    if not album.parts:
        await bot.send_message(chat_id, album.text, reply_markup=markup)
        return
    if len(album.parts) == 1:
        part = album.parts[0]
        caption = "\n".join(t for t in (album.text, part.text) if t)
        await bot.send_photo(chat_id, _photo(part), caption=caption, reply_markup=markup)
        return
    media = [
        InputMediaPhoto(media=_photo(part), caption=part.text or None)
        for part in album.parts[:MAX_ALBUM]
    ]
    await bot.send_media_group(chat_id, media)
    if album.text or markup is not None:
        await bot.send_message(chat_id, album.text, reply_markup=markup)


class SampleMessages:
    """The message showing each job's live sample (job id → chat and message, in this
    process): the first sample is sent, the next ones replace its photo and caption."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._sent: dict[int, tuple[int, int]] = {}

    async def show(
        self, bot: Bot, chat_id: int, item: Outgoing, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Edit the job's sample message, or send it (the first time, or when it is gone)."""
        assert item.key is not None
        sent = self._sent.get(item.key)
        if sent is not None:
            media = InputMediaPhoto(media=_photo(item), caption=item.text)
            try:
                await bot.edit_message_media(
                    media=media, chat_id=sent[0], message_id=sent[1], reply_markup=markup
                )
                return
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    return
                log.info("sample_message_gone", job_id=item.key, error=exc.message)
        message = await bot.send_photo(
            chat_id, _photo(item), caption=item.text, reply_markup=markup
        )
        self._sent[item.key] = (chat_id, message.message_id)
        while len(self._sent) > self.keep:  # the oldest jobs' are forgotten first
            del self._sent[next(iter(self._sent))]


async def send_outgoing(
    bot: Bot,
    chat_id: int,
    items: list[Outgoing],
    pack: Packer,
    samples: SampleMessages | None = None,
) -> None:
    """Send texts, documents, photos and albums in order (buttons packed with `pack`); a
    job's sample edits the message of its last one when `samples` knows it."""
    for item in items:
        markup = keyboard(item.rows, pack)
        if item.kind is OutKind.text:
            await bot.send_message(chat_id, item.text, reply_markup=markup)
        elif item.kind is OutKind.document:
            file = BufferedInputFile(item.data, filename=item.filename)
            await bot.send_document(chat_id, file, caption=item.text or None, reply_markup=markup)
        elif item.kind is OutKind.album:
            await _send_album(bot, chat_id, item, markup)
        elif item.kind is OutKind.sample and samples is not None:
            await samples.show(bot, chat_id, item, markup)
        else:
            file = BufferedInputFile(item.data, filename=item.filename)
            await bot.send_photo(chat_id, file, caption=item.text or None, reply_markup=markup)


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
