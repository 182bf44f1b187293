"""/train: the training journey rendered for Telegram; the logic lives in `bots.common.train`."""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.progress import ProgressBoard, cancel_row
from bots.common.screens import Button, Screen, StaleAction
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.telegram.callbacks import TrainCb, lib_packer, train_packer
from bots.telegram.render import actor, actor_for, edit, screen_kwargs
from bots.telegram.uploads import AlbumBuffer, has_image, uploads_of
from daemon.schemas import JobOut


class Training(StatesGroup):
    """The journey's steps, as aiogram states (mirrors `TrainStep`)."""

    dataset = State()
    naming = State()
    images = State()
    trigger = State()
    offering = State()
    preset = State()
    summary = State()
    submitted = State()


STATES = {step: getattr(Training, step.value, None) for step in TrainStep}


async def load(state: FSMContext, client: DaemonClient, user_id: int) -> TrainFlow:
    """The person's journey from FSM storage."""
    data = await state.get_data()
    if "train" not in data:
        raise StaleAction("no conversation")
    train = TrainState.model_validate(data["train"])
    return TrainFlow(client, actor_for(user_id), train)


async def save(state: FSMContext, flow: TrainFlow) -> None:
    """Store the journey and move the FSM to its step."""
    await state.update_data(train=flow.state.model_dump(mode="json"))
    await state.set_state(STATES[flow.state.step])


async def send_screen(message: Message, flow: TrainFlow, screen: Screen, owner: int) -> None:
    """Answer with a screen of this journey."""
    await message.answer(**screen_kwargs(screen, train_packer(owner, flow.state.token)))


async def cmd_train(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """Start the journey."""
    assert message.from_user is not None
    flow = TrainFlow(client, actor(message.from_user), TrainState())
    screen = await flow.begin()
    await save(state, flow)
    await send_screen(message, flow, screen, message.from_user.id)


async def on_text(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """A typed dataset name or trigger word."""
    assert message.from_user is not None and message.text is not None
    flow = await load(state, client, message.from_user.id)
    screen = await flow.text(message.text)
    await save(state, flow)
    await send_screen(message, flow, screen, message.from_user.id)


async def on_images(
    message: Message, bot: Bot, state: FSMContext, client: DaemonClient, albums: AlbumBuffer
) -> None:
    """A photo, an album or a file: upload the batch and acknowledge it."""
    assert message.from_user is not None
    batch = await albums.collect(message)
    if batch is None:
        return  # another part of an album; its first message uploads the whole album
    flow = await load(state, client, message.from_user.id)
    screen = await flow.add_images(await uploads_of(bot, batch))
    await send_screen(message, flow, screen, message.from_user.id)


async def on_stray_image(message: Message) -> None:
    """Images outside the journey's image step: say how to start."""
    await message.answer(texts.NO_CONVERSATION)


async def on_not_image(message: Message) -> None:
    """Something else while images are expected."""
    await message.answer(texts.NOT_AN_IMAGE)


async def on_button(
    query: CallbackQuery,
    callback_data: TrainCb,
    bot: Bot,
    state: FSMContext,
    client: DaemonClient,
    progress: ProgressBoard,
) -> None:
    """A journey button: check who pressed it and that it is current, then move on."""
    if callback_data.owner != query.from_user.id:
        await query.answer(texts.FOREIGN_BUTTON, show_alert=True)
        return
    flow = await load(state, client, query.from_user.id)
    if flow.state.token != callback_data.token:
        raise StaleAction(callback_data.token)
    message = query.message
    assert isinstance(message, Message)
    pack = train_packer(query.from_user.id, flow.state.token)
    if callback_data.action != "ok":
        screen = await flow.handle(callback_data.action, callback_data.arg)
        await save(state, flow)
        await query.answer()
        await edit(bot, message.chat.id, message.message_id, screen, pack)
        return
    reply_to = {"chat_id": message.chat.id, "message_id": message.message_id}
    confirmation = await flow.confirm(callback_data.arg, reply_to)
    await save(state, flow)
    await query.answer()
    await edit(bot, message.chat.id, message.message_id, confirmation.screen, pack)
    if confirmation.created and confirmation.job is not None:
        await start_progress(bot, message.chat.id, query.from_user.id, confirmation.job, progress)


async def start_progress(
    bot: Bot, chat_id: int, owner: int, job: JobOut, progress: ProgressBoard
) -> None:
    """Send the job's progress message and keep editing it until the job is final."""
    pack = lib_packer(owner)
    first = Screen(texts.job_progress(job), cancel_row(job))
    sent = await bot.send_message(chat_id, **screen_kwargs(first, pack))

    async def render(text: str, rows: list[list[Button]]) -> None:
        await edit(bot, chat_id, sent.message_id, Screen(text, rows), pack)

    progress.follow(actor_for(owner), job, chat_id, render, first.text)


def build() -> Router:
    """The training router."""
    router = Router(name="train")
    router.message.register(cmd_train, Command("train"))
    router.callback_query.register(on_button, TrainCb.filter())
    router.message.register(on_text, Training.naming, F.text, ~F.text.startswith("/"))
    router.message.register(on_text, Training.trigger, F.text, ~F.text.startswith("/"))
    router.message.register(on_images, Training.images, has_image)
    router.message.register(on_not_image, Training.images, ~F.text.startswith("/"))
    router.message.register(on_stray_image, has_image)
    return router
