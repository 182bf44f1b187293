"""Modals: Discord's way to ask for typed text from a button."""

from typing import Any

import discord

from bots.common.screens import Form
from bots.discord.answering import acknowledge_update

MAX_FIELDS = 5  # text inputs in one modal


class TextModal(discord.ui.Modal):
    """Asks for one line of text; keeps the answer and the submitting interaction on self."""

    def __init__(self, title: str, label: str, default: str = "", *, long: bool = False) -> None:
        super().__init__(title=title[:45], timeout=600)
        # `long`: a paragraph field that holds a description (Discord allows 4000 characters).
        style = discord.TextStyle.paragraph if long else discord.TextStyle.short
        self.field: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label[:45],
            default=default or None,
            style=style,
            max_length=4000 if long else 500,
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


class FormModal(discord.ui.Modal):
    """A `Form`'s fields, prefilled; keeps the answers by field name and the submitting
    interaction on self."""

    def __init__(self, form: Form) -> None:
        super().__init__(title=form.title[:45], timeout=600)
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for field in form.fields[:MAX_FIELDS]:
            text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=field.label[:45], default=field.value or None, max_length=40
            )
            self.inputs[field.name] = text_input
            self.add_item(text_input)
        self.answers: dict[str, str] = {}
        self.interaction: discord.Interaction[Any] | None = None

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await acknowledge_update(interaction)  # the answers need the daemon: 3 s
        self.answers = {name: text_input.value for name, text_input in self.inputs.items()}
        self.interaction = interaction
        self.stop()
