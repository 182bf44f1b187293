"""Modals: Discord's way to ask for typed text from a button."""

from typing import Any

import discord

from bots.discord.answering import acknowledge_update


class TextModal(discord.ui.Modal):
    """Asks for one line of text; keeps the answer and the submitting interaction on self."""

    def __init__(self, title: str, label: str, default: str = "") -> None:
        super().__init__(title=title[:45], timeout=600)
        self.field: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label[:45], default=default or None, max_length=500
        )
        self.add_item(self.field)
        self.value: str | None = None
        self.interaction: discord.Interaction[Any] | None = None

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await acknowledge_update(interaction)  # the answer needs the daemon: 3 s
        self.value, self.interaction = self.field.value, interaction
        self.stop()


class CaptionFixModal(discord.ui.Modal):
    """Which caption of the numbered list, and its new text (one form for both)."""

    def __init__(self, title: str, number_label: str, text_label: str) -> None:
        super().__init__(title=title[:45], timeout=600)
        self.number: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=number_label[:45], max_length=6
        )
        self.caption: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=text_label[:45], style=discord.TextStyle.paragraph, max_length=500
        )
        self.add_item(self.number)
        self.add_item(self.caption)
        self.interaction: discord.Interaction[Any] | None = None

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await acknowledge_update(interaction)  # the answer needs the daemon: 3 s
        self.interaction = interaction
        self.stop()
