"""Discord's view of a user, and sending texts and files within its limits."""

import io
from collections.abc import Callable
from typing import Any

import discord
import structlog

from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button

log = structlog.get_logger(__name__)
MAX_CONTENT = 2000
MAX_FILES = 10  # attachments of one message

# The View of a message's buttons (the front-end makes it for the message's owner).
ViewOf = Callable[[list[list[Button]]], discord.ui.View]


def actor(user: discord.abc.User | discord.Object) -> Actor:
    """The daemon's view of a Discord user."""
    return Actor(platform="discord", user_id=str(user.id))


def content(text: str) -> str:
    """Text cut to Discord's message limit."""
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


def _file(item: Outgoing) -> discord.File:
    return discord.File(io.BytesIO(item.data), filename=item.filename)


class SampleMessages:
    """The message showing each job's live sample (job id → message, in this process): the
    first sample is sent, the next ones replace its attachment and text."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._sent: dict[int, discord.Message] = {}

    async def show(
        self, channel: discord.abc.Messageable, item: Outgoing, extra: dict[str, Any]
    ) -> None:
        """Edit the job's sample message, or send it (the first time, or when it is gone)."""
        assert item.key is not None
        message = self._sent.get(item.key)
        if message is not None:
            try:
                await message.edit(content=content(item.text), attachments=[_file(item)], **extra)
                return
            except discord.NotFound:
                log.info("sample_message_gone", job_id=item.key)
        self._sent[item.key] = await channel.send(content(item.text), file=_file(item), **extra)
        while len(self._sent) > self.keep:  # the oldest jobs' are forgotten first
            del self._sent[next(iter(self._sent))]


async def send_outgoing(
    channel: discord.abc.Messageable,
    items: list[Outgoing],
    view_of: ViewOf | None = None,
    samples: SampleMessages | None = None,
    *,
    private: bool = False,
) -> None:
    """Send texts and files in order (documents and photos alike are attachments; an album is
    one message with several); buttons as `view_of` makes them; `private`: ephemeral
    (`channel` is then an interaction's follow-up webhook)."""
    for item in items:
        extra: dict[str, Any] = {"ephemeral": True} if private else {}
        if item.rows and view_of is not None:
            extra["view"] = view_of(item.rows)
        if item.kind is OutKind.text:
            await channel.send(content(item.text), **extra)
        elif item.kind is OutKind.album:
            files = [_file(part) for part in item.parts[:MAX_FILES]]
            await channel.send(content(item.text), files=files, **extra)
        elif item.kind is OutKind.sample and samples is not None:
            await samples.show(channel, item, extra)
        else:
            await channel.send(content(item.text), file=_file(item), **extra)
