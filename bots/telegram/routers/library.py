"""/datasets, /models and /jobs, and the typed answer of re-captioning."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bots.common import library
from bots.common.client import DaemonClient
from bots.telegram import asides
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


class Recaption(StatesGroup):
    """Waiting for an image's new caption."""

    caption = State()


async def cmd_datasets(message: Message, client: DaemonClient) -> None:
    """List the person's datasets."""
    assert message.from_user is not None
    screen = await library.datasets(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


async def cmd_models(message: Message, client: DaemonClient) -> None:
    """List the person's models."""
    assert message.from_user is not None
    screen = await library.models(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


async def cmd_jobs(message: Message, client: DaemonClient) -> None:
    """List the person's jobs."""
    assert message.from_user is not None
    screen = await library.jobs(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


async def on_caption(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """The new caption of the image chosen with ✎."""
    assert message.from_user is not None and message.text is not None
    dataset_id, image_id = (await state.get_data())["recaption"]
    await asides.done(state)
    screen = await library.recaption(
        client, actor(message.from_user), dataset_id, image_id, message.text
    )
    await message.answer(screen.text)


def build() -> Router:
    """The library router."""
    router = Router(name="library")
    router.message.register(cmd_datasets, Command("datasets"))
    router.message.register(cmd_models, Command("models"))
    router.message.register(cmd_jobs, Command("jobs"))
    router.message.register(on_caption, Recaption.caption, F.text, ~F.text.startswith("/"))
    return router
