"""/train: the training journey rendered for Discord; the logic lives in `bots.common.train`."""

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import texts
from bots.common.progress import cancel_row
from bots.common.schemas import Upload
from bots.common.screens import Screen, StaleAction
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.discord.render import actor, content, respond
from bots.discord.widgets import FlowButton, TextModal, screen_view
from daemon.schemas import JobOut

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class TrainCog(commands.GroupCog, group_name="train", group_description="Train a LoRA"):
    """The journey; each person's state lives here, keyed by their user id."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        self.states: dict[int, TrainState] = {}
        # Where each person's journey runs: images posted there are collected.
        self.channels: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        super().__init__()

    def flow(self, user: discord.abc.User) -> TrainFlow:
        """The person's current journey."""
        state = self.states.get(user.id)
        if state is None:
            raise StaleAction("no conversation")
        return TrainFlow(self.bot.client, actor(user), state)

    def lock(self, user_id: int) -> asyncio.Lock:
        """One step at a time per person (a double click must not race the state)."""
        return self._locks.setdefault(user_id, asyncio.Lock())

    @app_commands.command(name="start", description="Make or pick a dataset and train a LoRA")
    async def start(self, interaction: discord.Interaction[Any]) -> None:
        """Start the journey."""
        flow = TrainFlow(self.bot.client, actor(interaction.user), TrainState())
        screen = await flow.begin()
        self.states[interaction.user.id] = flow.state
        if interaction.channel_id is not None:
            self.channels[interaction.user.id] = interaction.channel_id
        await respond(interaction, screen, "t", flow.state.token)

    async def open_images(self, interaction: discord.Interaction[Any], dataset_id: int) -> None:
        """Open the journey at its image step for an existing dataset."""
        flow = TrainFlow(self.bot.client, actor(interaction.user), TrainState())
        await flow.begin()
        screen = await flow.pick_dataset(str(dataset_id))
        self.states[interaction.user.id] = flow.state
        if interaction.channel_id is not None:
            self.channels[interaction.user.id] = interaction.channel_id
        await respond(interaction, screen, "t", flow.state.token)

    @app_commands.command(name="upload", description="Add images to the dataset being built")
    @app_commands.describe(caption="Caption for these images (optional)")
    async def upload(
        self,
        interaction: discord.Interaction[Any],
        image1: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        caption: str | None = None,
    ) -> None:
        """Images as slash-command attachments."""
        files = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        await interaction.response.defer(thinking=True)
        uploads = [Upload(a.filename, await a.read(), caption) for a in files]
        async with self.lock(interaction.user.id):
            flow = self.flow(interaction.user)
            screen = await flow.add_images(uploads)
        await respond(interaction, screen, "t", flow.state.token)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Images posted as a follow-up message in the journey's channel (or DM)."""
        state = self.states.get(message.author.id)
        if message.author.bot or state is None or state.step != TrainStep.images:
            return
        if not message.attachments or self.channels.get(message.author.id) not in (
            message.channel.id,
            None,
        ):
            return
        caption = message.content or None
        uploads = [Upload(a.filename, await a.read(), caption) for a in message.attachments]
        async with self.lock(message.author.id):
            flow = self.flow(message.author)
            screen = await flow.add_images(uploads)
        view = screen_view(screen, "t", message.author.id, flow.state.token)
        await message.reply(content(screen.text), view=view, mention_author=False)

    async def on_button(self, interaction: discord.Interaction[Any], button: FlowButton) -> None:
        """A journey button, already checked to be pressed by its owner."""
        if button.action == "ask":
            await self.ask_text(interaction, button)
            return
        async with self.lock(interaction.user.id):
            flow = self.flow(interaction.user)
            if flow.state.token != button.token:
                raise StaleAction(button.token)
            if button.action == "ok":
                await self.confirm(interaction, flow, button.arg)
            else:
                screen = await flow.handle(button.action, button.arg)
                await respond(interaction, screen, "t", flow.state.token, edit=True)

    async def ask_text(self, interaction: discord.Interaction[Any], button: FlowButton) -> None:
        """A dataset name or trigger word, typed into a modal (no lock held while typing)."""
        flow = self.flow(interaction.user)
        if flow.state.token != button.token:
            raise StaleAction(button.token)
        asked = flow.prompt()
        modal = TextModal(asked.prompt, asked.prompt, asked.suggestion)
        await interaction.response.send_modal(modal)
        if await modal.wait() or modal.interaction is None or modal.value is None:
            return  # timed out: nothing changes
        async with self.lock(interaction.user.id):
            flow = self.flow(interaction.user)
            if flow.state.token != button.token:
                raise StaleAction(button.token)
            screen = await flow.text(modal.value)
        await respond(modal.interaction, screen, "t", flow.state.token)

    async def confirm(
        self, interaction: discord.Interaction[Any], flow: TrainFlow, summary_id: str
    ) -> None:
        """Pay and start the progress message in the channel the job was started from."""
        reply_to = {"channel_id": interaction.channel_id, "guild_id": interaction.guild_id}
        confirmation = await flow.confirm(summary_id, reply_to)
        await respond(interaction, confirmation.screen, "t", flow.state.token, edit=True)
        if confirmation.created and confirmation.job is not None and interaction.channel_id:
            await self.start_progress(interaction.channel_id, interaction.user, confirmation.job)

    async def start_progress(self, channel_id: int, user: discord.abc.User, job: JobOut) -> None:
        """Post the job's progress message (a bot message: editable beyond 15 minutes)."""
        channel = self.bot.get_partial_messageable(channel_id)
        first = Screen(texts.job_progress(job), cancel_row(job))
        message = await channel.send(first.text, view=screen_view(first, "l", user.id))

        async def render(text: str, rows: list[Any]) -> None:
            view = screen_view(Screen(text, rows), "l", user.id)
            await message.edit(content=content(text), view=view)

        self.bot.progress.follow(actor(user), job, channel_id, render, first.text)
