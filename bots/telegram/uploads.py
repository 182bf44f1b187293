"""Images arriving in Telegram messages: albums gathered into one batch, files downloaded."""

import asyncio
import mimetypes

from aiogram import Bot
from aiogram.types import Message

from bots.common.downloads import TELEGRAM_DOWNLOAD_LIMIT, too_large
from bots.common.schemas import Upload
from daemon.schemas import RefusedImage


class AlbumBuffer:
    """Gathers the messages of one album (they arrive as separate updates) into one batch."""

    def __init__(self, quiet: float = 1.0) -> None:
        self.quiet = quiet
        self._groups: dict[str, list[Message]] = {}

    async def collect(self, message: Message) -> list[Message] | None:
        """The whole album for its first message, None for the others, [message] if single."""
        key = message.media_group_id
        if key is None:
            return [message]
        if key in self._groups:
            self._groups[key].append(message)
            return None
        group = self._groups[key] = [message]
        seen = 0
        while seen != len(group):  # wait until no part arrived for `quiet` seconds
            seen = len(group)
            await asyncio.sleep(self.quiet)
        del self._groups[key]
        return sorted(group, key=lambda m: m.message_id)


def has_image(message: Message) -> bool:
    """A photo, or any document (the daemon decides whether it is an image and says why not)."""
    return bool(message.photo or message.document)


def _file_of(message: Message) -> tuple[str, str, int | None]:
    """The file id, a file name and the size Telegram reports of a message's image or file."""
    if message.photo:
        photo = message.photo[-1]
        return photo.file_id, f"photo_{photo.file_unique_id}.jpg", photo.file_size
    if message.document:
        doc = message.document
        ext = mimetypes.guess_extension(doc.mime_type or "") or ""
        name = doc.file_name or f"file_{doc.file_unique_id}{ext}"
        return doc.file_id, name, doc.file_size
    raise ValueError("message has no image")


async def to_upload(bot: Bot, message: Message) -> Upload | RefusedImage:
    """Download a message's photo (largest size) or file; one over the Bot API's download
    limit is refused without asking for it."""
    file_id, filename, size = _file_of(message)
    refused = too_large(filename, size or 0, TELEGRAM_DOWNLOAD_LIMIT, "Telegram")
    if refused is not None:
        return refused
    buffer = await bot.download(file_id)
    assert buffer is not None
    return Upload(filename=filename, data=buffer.getvalue(), caption=message.caption)


async def uploads_of(bot: Bot, messages: list[Message]) -> tuple[list[Upload], list[RefusedImage]]:
    """Download every image of a batch (names made unique so captions map one to one), and
    the files refused before downloading."""
    fetched = await asyncio.gather(*(to_upload(bot, m) for m in messages))
    refused = [f for f in fetched if isinstance(f, RefusedImage)]
    seen: dict[str, int] = {}
    unique = []
    for up in fetched:
        if isinstance(up, RefusedImage):
            continue
        n = seen[up.filename] = seen.get(up.filename, 0) + 1
        name = up.filename if n == 1 else f"{n}_{up.filename}"
        unique.append(Upload(filename=name, data=up.data, caption=up.caption))
    return unique, refused
