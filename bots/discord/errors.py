"""Telling the person what went wrong, the same way for commands, buttons and modals."""

from typing import Any

import discord
import structlog
from discord import app_commands

from bots.common import texts
from bots.common.errors import DaemonUnavailable, RpcError, StaleStateError
from bots.common.screens import StaleAction
from bots.discord.answering import acknowledge_command
from bots.discord.i18n import localize

log = structlog.get_logger(__name__)


def message_for(exc: BaseException, *, command: bool = False) -> str | None:
    """The polite text for an expected failure, None for a bug."""
    if isinstance(exc, StaleStateError):
        return texts.STATE_MOVED_ON
    if isinstance(exc, RpcError):
        return texts.ERROR.format(message=exc.message)
    if isinstance(exc, DaemonUnavailable):
        return str(texts.DAEMON_DOWN)
    if isinstance(exc, StaleAction):
        return str(texts.NO_CONVERSATION if command else texts.STALE_BUTTON)
    return None


async def report(interaction: discord.Interaction[Any], exc: BaseException) -> None:
    """Answer ephemerally (as a response or a follow-up); log what was unexpected."""
    command = interaction.type is discord.InteractionType.application_command
    text = message_for(exc, command=command)
    if text is None:
        log.error("discord_handler_failed", error=repr(exc), exc_info=exc)
        text = texts.ERROR.format(message=texts.OUR_FAULT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as send_error:
        log.warning("discord_error_reply_failed", error=repr(send_error))


class Tree(app_commands.CommandTree[Any]):
    """A command tree that acknowledges every command as it arrives (Discord's 3 s) and
    whose errors reach the person, not just the log, in their language."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        await acknowledge_command(interaction)
        await localize(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        original = getattr(error, "original", error)
        await report(interaction, original)
