"""Images arriving in Telegram messages: albums gathered into one batch, files downloaded."""

import asyncio
import mimetypes

from aiogram import Bot
from aiogram.types import Message

from bots.common.schemas import Upload


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


async def to_upload(bot: Bot, message: Message) -> Upload:
    """Download a message's photo (largest size) or file."""
    if message.photo:
        photo = message.photo[-1]
        file_id, filename = photo.file_id, f"photo_{photo.file_unique_id}.jpg"
    elif message.document:
        doc = message.document
        ext = mimetypes.guess_extension(doc.mime_type or "") or ""
        file_id, filename = doc.file_id, doc.file_name or f"file_{doc.file_unique_id}{ext}"
    else:
        raise ValueError("message has no image")
    buffer = await bot.download(file_id)
    assert buffer is not None
    return Upload(filename=filename, data=buffer.getvalue(), caption=message.caption)


async def uploads_of(bot: Bot, messages: list[Message]) -> list[Upload]:
    """Download every image of a batch; names made unique so captions map one to one."""
    uploads = await asyncio.gather(*(to_upload(bot, m) for m in messages))
    seen: dict[str, int] = {}
    unique = []
    for up in uploads:
        n = seen[up.filename] = seen.get(up.filename, 0) + 1
        name = up.filename if n == 1 else f"{n}_{up.filename}"
        unique.append(Upload(filename=name, data=up.data, caption=up.caption))
    return unique
