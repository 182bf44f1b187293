"""Fixing one of the numbered captions: its number, then its new text, as two messages."""

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bots.common import captions
from bots.common.client import DaemonClient
from bots.telegram import asides
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


class CaptionFix(StatesGroup):
    """After "Fix a caption": waiting for the caption's number, then for its new text."""

    number = State()
    text = State()


async def on_number(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """The number of the caption to fix: show it and ask for its new text."""
    assert message.from_user is not None and message.text is not None
    who, dataset_id = actor(message.from_user), (await state.get_data())["fix"]
    screen, number = await captions.pick(client, who, dataset_id, message.text)
    if number is not None:
        await asides.ask(state, CaptionFix.text, fix_number=number)
    await message.answer(screen.text)


async def on_text(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """The caption's new text: write it and show the list again."""
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    await asides.done(state)
    screen = await captions.fix(
        client, actor(message.from_user), data["fix"], str(data["fix_number"]), message.text
    )
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


def build() -> Router:
    """The caption-fixing router."""
    router = Router(name="captions")
    not_command = ~F.text.startswith("/")
    router.message.register(on_number, CaptionFix.number, F.text, not_command)
    router.message.register(on_text, CaptionFix.text, F.text, not_command)
    return router
