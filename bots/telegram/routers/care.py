"""Dataset care's typed answers (a name, a description, tags, an image's number)."""

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bots.common import dataset_edits
from bots.common.client import DaemonClient
from bots.common.dataset_care import CareAsk
from bots.telegram import asides
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, send_outgoing


class DatasetCare(StatesGroup):
    """After Rename, Description, Tags or Remove an image: waiting for the typed answer."""

    answer = State()


async def ask(state: FSMContext, question: CareAsk) -> None:
    """Wait for the answer of `question` (the journeys under way stay in the data)."""
    await asides.ask(state, DatasetCare.answer, care=question.pack())


async def on_answer(message: Message, bot: Bot, state: FSMContext, client: DaemonClient) -> None:
    """Do what the answer asks; a bad one is asked again, the state kept."""
    assert message.from_user is not None and message.text is not None
    question = CareAsk.unpack((await state.get_data())["care"])
    answered = await dataset_edits.answer(client, actor(message.from_user), question, message.text)
    if not answered.again:
        await asides.done(state)
    await send_outgoing(bot, message.chat.id, answered.items, packer(message.from_user.id))


def build() -> Router:
    """The dataset care router."""
    router = Router(name="care")
    router.message.register(on_answer, DatasetCare.answer, F.text, ~F.text.startswith("/"))
    return router
