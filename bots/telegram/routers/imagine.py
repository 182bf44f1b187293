"""/imagine: generating images with a LoRA; the logic lives in `bots.common.generate`."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bots.common.client import DaemonClient
from bots.common.generate import GenerateFlow, GenerateState, GenerateStep
from bots.common.screens import StaleAction
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


class Imagine(StatesGroup):
    """The conversation's steps, as aiogram states (mirrors `GenerateStep`)."""

    model = State()
    prompt = State()
    summary = State()
    submitted = State()


STATES = {step: getattr(Imagine, step.value, None) for step in GenerateStep}


async def conversation(state: FSMContext) -> GenerateState | None:
    """The person's generate conversation from FSM storage, if one was started."""
    data = await state.get_data()
    return GenerateState.model_validate(data["imagine"]) if "imagine" in data else None


async def save(state: FSMContext, generating: GenerateState) -> None:
    """Store the conversation and move the FSM to its step (a typed text is its prompt)."""
    await state.update_data(imagine=generating.model_dump(mode="json"))
    await state.set_state(STATES[generating.step])


async def cmd_imagine(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """Start the conversation: the person's models."""
    assert message.from_user is not None
    flow = GenerateFlow(client, actor(message.from_user), GenerateState())
    screen = await flow.begin()
    await save(state, flow.state)
    pack = packer(message.from_user.id, flow.state.token)
    await message.answer(**screen_kwargs(screen, pack))


async def on_prompt(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """The typed prompt: its price."""
    assert message.from_user is not None and message.text is not None
    generating = await conversation(state)
    if generating is None:
        raise StaleAction("no conversation")
    flow = GenerateFlow(client, actor(message.from_user), generating)
    screen = await flow.text(message.text)
    await save(state, flow.state)
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id, flow.state.token)))


def build() -> Router:
    """The generate router."""
    router = Router(name="imagine")
    router.message.register(cmd_imagine, Command("imagine"))
    router.message.register(on_prompt, Imagine.prompt, F.text, ~F.text.startswith("/"))
    return router
