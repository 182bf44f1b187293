"""/train: the training journey rendered for Discord; the logic lives in `bots.common.train`."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import i18n, languages
from bots.common.downloads import too_large
from bots.common.schemas import Upload
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.discord.answering import PUBLIC
from bots.discord.buttons import respond, screen_view
from bots.discord.cogs.base import BotCog
from bots.discord.render import actor, content
from daemon.schemas import RefusedImage

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
        async with self.bot.journeys.lock(interaction.user.id):
            talk = await self.bot.journeys.load(interaction.user)
            talk.keep(flow.state, interaction.channel_id)
            await self.bot.journeys.save(talk)
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
        uploads, refused = await self._read(files, caption)
        journeys = self.bot.journeys
        async with journeys.lock(interaction.user.id):
            talk = await journeys.load(interaction.user)
            flow = talk.flow(self.bot.client)
            screen = await flow.add_images(uploads, refused)
            await journeys.save(talk)
        await respond(interaction, screen, flow.state.token)

    async def _read(
        self, attachments: list[discord.Attachment], caption: str | None
    ) -> tuple[list[Upload], list[RefusedImage]]:
        """The attachments' bytes; one larger than the configured maximum is refused unread."""
        limit = self.bot.settings.discord_max_attachment_bytes
        uploads, refused = [], []
        for a in attachments:
            too_big = too_large(a.filename, a.size, limit, "Discord")
            if too_big is not None:
                refused.append(too_big)
            else:
                uploads.append(Upload(a.filename, await a.read(), caption))
        return uploads, refused

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Images posted as a follow-up message in the journey's channel (or DM)."""
        journeys, author = self.bot.journeys, message.author
        if author.bot or not message.attachments:
            return  # only a person's attachments can be images of a journey
        # A message carries no locale: the person's language as the daemon keeps it.
        i18n.set_locale(await languages.spoken(self.bot.client, actor(author), None))
        async with journeys.lock(author.id):
            talk = await journeys.load(author)
            state, channel_id = talk.held.train, talk.held.channel_id
            if state is None or state.step != TrainStep.images:
                return
            if channel_id not in (message.channel.id, None):
                return
            uploads, refused = await self._read(message.attachments, message.content or None)
            flow = talk.flow(self.bot.client)
            screen = await flow.add_images(uploads, refused)
            await journeys.save(talk)
        view = screen_view(screen, author.id, flow.state.token)
        await message.reply(content(screen.text), view=view, mention_author=False)
