"""/train: the training journey rendered for Discord; the logic lives in `bots.common.train`."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common.schemas import Upload
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.discord.answering import PUBLIC
from bots.discord.buttons import respond, screen_view
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class TrainCog(BotCog, commands.GroupCog, group_name="train", group_description="Train a LoRA"):
    """Starting the journey and collecting its images; its buttons go through `buttons`."""

    @app_commands.command(
        name="start", description="Make or pick a dataset and train a LoRA", extras={PUBLIC: True}
    )
    async def start(self, interaction: discord.Interaction["LoraBot"]) -> None:
        """Start the journey."""
        flow = TrainFlow(self.bot.client, actor(interaction.user), TrainState())
        screen = await flow.begin()
        self.bot.journeys.keep(interaction.user.id, flow.state, interaction.channel_id)
        await respond(interaction, screen, flow.state.token)

    @app_commands.command(
        name="upload", description="Add images to the dataset being built", extras={PUBLIC: True}
    )
    @app_commands.describe(caption="Caption for these images (optional)")
    async def upload(
        self,
        interaction: discord.Interaction["LoraBot"],
        image1: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        caption: str | None = None,
    ) -> None:
        """Images as slash-command attachments."""
        files = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        uploads = [Upload(a.filename, await a.read(), caption) for a in files]
        journeys = self.bot.journeys
        async with journeys.lock(interaction.user.id):
            flow = journeys.flow(self.bot.client, interaction.user)
            screen = await flow.add_images(uploads)
        await respond(interaction, screen, flow.state.token)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Images posted as a follow-up message in the journey's channel (or DM)."""
        journeys, author = self.bot.journeys, message.author
        state = journeys.states.get(author.id)
        if author.bot or state is None or state.step != TrainStep.images:
            return
        if not message.attachments or journeys.channels.get(author.id) not in (
            message.channel.id,
            None,
        ):
            return
        caption = message.content or None
        uploads = [Upload(a.filename, await a.read(), caption) for a in message.attachments]
        async with journeys.lock(author.id):
            flow = journeys.flow(self.bot.client, author)
            screen = await flow.add_images(uploads)
        view = screen_view(screen, author.id, flow.state.token)
        await message.reply(content(screen.text), view=view, mention_author=False)
