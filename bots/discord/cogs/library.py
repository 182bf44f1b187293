"""/datasets, /models and /jobs, and the buttons of lists and progress messages."""

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bots.common import library
from bots.common.screens import StaleAction
from bots.discord.render import actor, content, respond, send_outgoing
from bots.discord.widgets import FlowButton, TextModal

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class DatasetsCog(commands.GroupCog, group_name="datasets", group_description="Your datasets"):
    """List and open datasets; their buttons are handled by `on_library_button`."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Your datasets")
    async def list(self, interaction: discord.Interaction[Any]) -> None:
        """The person's datasets (ephemeral: private information)."""
        screen = await library.datasets(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, "l", ephemeral=True)


class ModelsCog(commands.GroupCog, group_name="models", group_description="Your trained LoRAs"):
    """List and download models."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Your trained LoRAs")
    async def list(self, interaction: discord.Interaction[Any]) -> None:
        """The person's models."""
        screen = await library.models(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, "l", ephemeral=True)


class JobsCog(commands.GroupCog, group_name="jobs", group_description="Your trainings"):
    """Job status and cancelling."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Status of your trainings")
    async def list(self, interaction: discord.Interaction[Any]) -> None:
        """The person's jobs."""
        screen = await library.jobs(self.bot.client, actor(interaction.user))
        await respond(interaction, screen, "l", ephemeral=True)


async def on_library_button(interaction: discord.Interaction[Any], button: FlowButton) -> None:
    """A list or progress button, already checked to be pressed by its owner."""
    bot: LoraBot = interaction.client  # type: ignore[assignment]
    who, arg = actor(interaction.user), button.arg
    if button.action == "dso":
        await respond(interaction, await library.dataset(bot.client, who, int(arg)), "l")
    elif button.action == "dsd":
        screen = await library.delete_dataset(bot.client, who, int(arg))
        await respond(interaction, screen, "l", ephemeral=True)
    elif button.action == "jc":
        screen, _ = await library.cancel_job(bot.client, who, int(arg))
        await respond(interaction, screen, "l", ephemeral=True)
    elif button.action == "mdl":
        await interaction.response.defer(ephemeral=True, thinking=True)
        files = await library.model_download(bot.client, who, int(arg))
        await send_outgoing(interaction.followup, files)
    elif button.action == "dsa":
        await bot.train_cog.open_images(interaction, int(arg))
    elif button.action == "dsc":
        await recaption(interaction, bot, arg)
    else:
        raise StaleAction(button.action)


async def recaption(interaction: discord.Interaction[Any], bot: "LoraBot", arg: str) -> None:
    """Ask for an image's caption in a modal, then save it."""
    dataset_id, image_id = (int(x) for x in arg.split("."))
    modal = TextModal(f"Caption of image #{image_id}", "Caption")
    await interaction.response.send_modal(modal)
    if await modal.wait() or modal.interaction is None or modal.value is None:
        return
    screen = await library.recaption(
        bot.client, actor(interaction.user), dataset_id, image_id, modal.value
    )
    await modal.interaction.response.send_message(content(screen.text), ephemeral=True)
