"""Dataset care's typed answers on Discord: a modal opened at once, its answer done afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bots.common import care_texts, dataset_care, dataset_edits
from bots.common.dataset_care import CareAsk, CareField
from bots.discord.errors import report
from bots.discord.render import ViewOf, actor, send_outgoing
from bots.discord.widgets import TextModal

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


async def ask_care(interaction: discord.Interaction[LoraBot], arg: str, views: ViewOf) -> None:
    """Ask the question the button's `arg` packs in a modal (no daemon call before: Discord's
    3 s run from the press), then do what the answer asks; a bad answer is said, and the
    button asks again."""
    question = CareAsk.unpack(arg)
    title = care_texts.TITLE.format(dataset_id=question.dataset_id)
    prompt = dataset_care.ask(question).prompt
    modal = TextModal(title, prompt, long=question.field is CareField.description)
    await interaction.response.send_modal(modal)
    if await modal.wait() or modal.interaction is None or modal.value is None:
        return  # timed out: nothing changes
    answered_in = modal.interaction
    try:
        bot = interaction.client
        answered = await dataset_edits.answer(
            bot.client, actor(interaction.user), question, modal.value
        )
        await send_outgoing(answered_in.followup, answered.items, views)
    except Exception as exc:
        await report(answered_in, exc)
