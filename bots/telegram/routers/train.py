"""/train: the training journey rendered for Telegram; the logic lives in `bots.common.train`."""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bots.common import texts
from bots.common.advanced import AdvancedSettings
from bots.common.client import DaemonClient
from bots.common.progress import ProgressBoard, Render, cancel_row
from bots.common.screens import Button, Screen, StaleAction
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, actor_for, edit, screen_kwargs
from bots.telegram.uploads import AlbumBuffer, has_image, uploads_of
from daemon.schemas import JobOut, ResumedMessageOut


class Training(StatesGroup):
    """The journey's steps, as aiogram states (mirrors `TrainStep`)."""

    dataset = State()
    naming = State()
    images = State()
    captions = State()
    caption_summary = State()
    captioning = State()
    trigger = State()
    offering = State()
    preset = State()
    summary = State()
    advanced = State()
    tuning = State()
    submitted = State()


STATES = {step: getattr(Training, step.value, None) for step in TrainStep}


async def journey(state: FSMContext) -> TrainState | None:
    """The person's journey from FSM storage, if one was started."""
    data = await state.get_data()
    return TrainState.model_validate(data["train"]) if "train" in data else None


async def load(state: FSMContext, client: DaemonClient, user_id: int) -> TrainFlow:
    """The person's journey, for a typed answer or images; none yet is a stale answer."""
    train = await journey(state)
    if train is None:
        raise StaleAction("no conversation")
    return TrainFlow(client, actor_for(user_id), train)


async def save(state: FSMContext, train: TrainState) -> None:
    """Store the journey and move the FSM to its step."""
    await state.update_data(train=train.model_dump(mode="json"))
    await state.set_state(STATES[train.step])


async def send_screen(message: Message, flow: TrainFlow, screen: Screen, owner: int) -> None:
    """Answer with a screen of this journey."""
    await message.answer(**screen_kwargs(screen, packer(owner, flow.state.token)))


async def cmd_train(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """Start the journey."""
    assert message.from_user is not None
    flow = TrainFlow(client, actor(message.from_user), TrainState())
    screen = await flow.begin()
    await save(state, flow.state)
    await send_screen(message, flow, screen, message.from_user.id)


async def on_text(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """A typed dataset name or trigger word."""
    assert message.from_user is not None and message.text is not None
    flow = await load(state, client, message.from_user.id)
    screen = await flow.text(message.text)
    await save(state, flow.state)
    await send_screen(message, flow, screen, message.from_user.id)


async def on_setting(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """A typed value of the advanced setting being asked."""
    assert message.from_user is not None and message.text is not None
    flow = await load(state, client, message.from_user.id)
    screen = await AdvancedSettings(flow).typed(message.text)
    await save(state, flow.state)
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
    screen = await flow.add_images(*await uploads_of(bot, batch))
    await send_screen(message, flow, screen, message.from_user.id)


async def on_stray_image(message: Message) -> None:
    """Images outside the journey's image step: say how to start."""
    await message.answer(str(texts.NO_CONVERSATION))


async def on_not_image(message: Message) -> None:
    """Something else while images are expected."""
    await message.answer(str(texts.NOT_AN_IMAGE))


def progress_render(bot: Bot, chat_id: int, message_id: int, owner: int) -> Render:
    """How a job's progress message is edited (by this process or a later one)."""
    pack = packer(owner)

    async def render(text: str, rows: list[list[Button]]) -> None:
        await edit(bot, chat_id, message_id, Screen(text, rows), pack)

    return render


async def start_progress(
    bot: Bot, chat_id: int, owner: int, job: JobOut, progress: ProgressBoard
) -> None:
    """Send the job's progress message, record it, and keep editing it until the job is final."""
    first = Screen(texts.job_progress(job), cancel_row(job))
    sent = await bot.send_message(chat_id, **screen_kwargs(first, packer(owner)))
    await progress.record(actor_for(owner), job.id, "telegram", chat_id, sent.message_id)
    render = progress_render(bot, chat_id, sent.message_id, owner)
    progress.follow(actor_for(owner), job, chat_id, render, first.text)


async def resume_progress(bot: Bot, progress: ProgressBoard) -> None:
    """On start-up: go on editing the progress messages an earlier process sent."""

    def render_for(found: ResumedMessageOut) -> Render:
        owner = int(found.platform_user_id)
        return progress_render(bot, int(found.chat_id), int(found.message_id), owner)

    await progress.resume("telegram", render_for)


def build() -> Router:
    """The training router."""
    router = Router(name="train")
    router.message.register(cmd_train, Command("train"))
    router.message.register(on_text, Training.naming, F.text, ~F.text.startswith("/"))
    router.message.register(on_text, Training.trigger, F.text, ~F.text.startswith("/"))
    router.message.register(on_setting, Training.tuning, F.text, ~F.text.startswith("/"))
    router.message.register(on_images, Training.images, has_image)
    router.message.register(on_not_image, Training.images, ~F.text.startswith("/"))
    router.message.register(on_stray_image, has_image)
    return router
