"""Answering Discord in time: every interaction is acknowledged before any daemon call.

Discord drops an interaction that is not answered within 3 s ("This interaction failed"),
and a daemon that is slow or down takes longer than that (the client's retries last about
7.5 s). So a command is deferred as it arrives, a button press is deferred (or opens its
modal) before its handler runs, and the answer — or the error text — follows as the
follow-up or the edit of the original message.
"""

from typing import Any

import discord
from discord import app_commands

# `extras` key of a command whose answer the whole channel sees (a journey's screen); every
# other command answers privately, so a new one is private unless it says otherwise.
PUBLIC = "public"


def is_public(command: app_commands.Command[Any, ..., Any] | Any) -> bool:
    """Whether the command's answer is for the channel rather than the person alone."""
    return bool(getattr(command, "extras", {}).get(PUBLIC))


async def acknowledge_command(interaction: discord.Interaction[Any]) -> None:
    """Defer a slash command at once ("thinking…"), ephemeral unless the command is public.

    The first follow-up takes the deferred message's place and keeps its visibility, so
    that is decided here, before the daemon is asked anything.
    """
    if interaction.type is not discord.InteractionType.application_command:
        return  # autocomplete is answered with choices, not deferred
    if interaction.response.is_done():
        return
    public = is_public(interaction.command)
    await interaction.response.defer(ephemeral=not public, thinking=True)


async def acknowledge_update(interaction: discord.Interaction[Any]) -> None:
    """Defer a button press or a modal's answer as an update of the message it came from:
    the outcome then edits that message in place or arrives as a follow-up of its own."""
    if not interaction.response.is_done():
        await interaction.response.defer()


async def answer(
    interaction: discord.Interaction[Any], text: str, *, ephemeral: bool = False, **extra: Any
) -> None:
    """Send a new message as the answer of an interaction (deferred or not)."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=ephemeral, **extra)
    else:
        await interaction.response.send_message(text, ephemeral=ephemeral, **extra)
