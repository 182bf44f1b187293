"""/datasets, /models and /jobs, their buttons, and re-captioning."""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bots.common import library, texts
from bots.common.client import DaemonClient
from bots.common.train import TrainFlow, TrainState
from bots.telegram.callbacks import LibCb, lib_packer, train_packer
from bots.telegram.render import actor, actor_for, screen_kwargs, send_outgoing
from bots.telegram.routers.train import save


class Recaption(StatesGroup):
    """Waiting for an image's new caption."""

    caption = State()


async def cmd_datasets(message: Message, client: DaemonClient) -> None:
    """List the person's datasets."""
    assert message.from_user is not None
    screen = await library.datasets(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, lib_packer(message.from_user.id)))


async def cmd_models(message: Message, client: DaemonClient) -> None:
    """List the person's models."""
    assert message.from_user is not None
    screen = await library.models(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, lib_packer(message.from_user.id)))


async def cmd_jobs(message: Message, client: DaemonClient) -> None:
    """List the person's jobs."""
    assert message.from_user is not None
    screen = await library.jobs(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, lib_packer(message.from_user.id)))


async def on_button(
    query: CallbackQuery, callback_data: LibCb, bot: Bot, state: FSMContext, client: DaemonClient
) -> None:
    """A list or progress button, pressed by its owner only."""
    if callback_data.owner != query.from_user.id:
        await query.answer(texts.FOREIGN_BUTTON, show_alert=True)
        return
    message = query.message
    assert isinstance(message, Message)
    who, action, arg = actor(query.from_user), callback_data.action, callback_data.arg
    pack = lib_packer(query.from_user.id)
    await query.answer()
    if action == "dso":
        screen = await library.dataset(client, who, int(arg))
    elif action == "dsd":
        screen = await library.delete_dataset(client, who, int(arg))
    elif action == "jc":
        screen, _ = await library.cancel_job(client, who, int(arg))
    elif action == "mdl":
        await send_outgoing(
            bot, message.chat.id, await library.model_download(client, who, int(arg))
        )
        return
    elif action == "dsc":
        dataset_id, image_id = (int(x) for x in arg.split("."))
        await state.set_state(Recaption.caption)
        await state.update_data(recaption=[dataset_id, image_id])
        screen = library.ask_caption(image_id)
    elif action == "dsa":
        await add_images(message, state, client, query.from_user.id, int(arg))
        return
    else:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await message.answer(**screen_kwargs(screen, pack))


async def add_images(
    message: Message, state: FSMContext, client: DaemonClient, owner: int, dataset_id: int
) -> None:
    """Open the training journey at its image step for an existing dataset."""
    flow = TrainFlow(client, actor_for(owner), TrainState())
    await flow.begin()
    screen = await flow.pick_dataset(str(dataset_id))
    await save(state, flow)
    await message.answer(**screen_kwargs(screen, train_packer(owner, flow.state.token)))


async def on_caption(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """The new caption of the image chosen with ✎."""
    assert message.from_user is not None and message.text is not None
    dataset_id, image_id = (await state.get_data())["recaption"]
    await state.clear()
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
    router.callback_query.register(on_button, LibCb.filter())
    router.message.register(on_caption, Recaption.caption, F.text, ~F.text.startswith("/"))
    return router
