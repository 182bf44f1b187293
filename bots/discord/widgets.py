"""A one-field modal: Discord's way to ask for typed text from a button."""

from typing import Any

import discord


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
        self.value, self.interaction = self.field.value, interaction
        self.stop()
