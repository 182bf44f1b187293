"""Every button press: parsed from its callback data, done by `bots.common.dispatch`, shown."""

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.dispatch import Outcome, Place, Press, dispatch
from bots.common.progress import ProgressBoard
from bots.common.screens import StaleAction
from bots.telegram import asides
from bots.telegram.callbacks import ActionCb, packer
from bots.telegram.render import actor, edit, screen_kwargs, send_outgoing
from bots.telegram.routers import care, imagine
from bots.telegram.routers.captions import CaptionFix
from bots.telegram.routers.library import Recaption
from bots.telegram.routers.shop import send_invoice
from bots.telegram.routers.train import journey, save, start_progress


async def on_button(
    query: CallbackQuery,
    callback_data: ActionCb,
    bot: Bot,
    state: FSMContext,
    client: DaemonClient,
    progress: ProgressBoard,
) -> None:
    """A button, pressed by its owner only."""
    if callback_data.owner != query.from_user.id:
        await query.answer(str(texts.FOREIGN_BUTTON), show_alert=True)
        return
    message = query.message
    if not isinstance(message, Message):
        raise StaleAction("the message is too old to answer")
    press = Press(
        callback_data.action,
        callback_data.arg,
        callback_data.token,
        actor(query.from_user),
        await journey(state),
        {"chat_id": message.chat.id, "message_id": message.message_id},
        await imagine.conversation(state),
    )
    outcome = await dispatch(client, press)
    await query.answer()
    await show(bot, message, state, outcome, query.from_user.id, progress)


async def show(
    bot: Bot,
    message: Message,
    state: FSMContext,
    outcome: Outcome,
    owner: int,
    progress: ProgressBoard,
) -> None:
    """Keep the outcome's conversation, then show its screen, files and its job's progress."""
    token = ""
    if outcome.journey is not None:
        await save(state, outcome.journey)
        token = outcome.journey.token
    if outcome.generating is not None:
        await imagine.save(state, outcome.generating)
        token = outcome.generating.token
    if outcome.caption_for is not None:
        image = outcome.caption_for
        await asides.ask(state, Recaption.caption, recaption=[image.dataset_id, image.image_id])
    if outcome.fix_captions is not None:
        await asides.ask(state, CaptionFix.number, fix=outcome.fix_captions)
    if outcome.care is not None:
        await care.ask(state, outcome.care)
    if outcome.screen is not None:
        pack = packer(owner, token)
        if outcome.place is Place.replace:
            await edit(bot, message.chat.id, message.message_id, outcome.screen, pack)
        else:
            await message.answer(**screen_kwargs(outcome.screen, pack))
    if outcome.files is not None:
        await send_outgoing(bot, message.chat.id, await outcome.files(), packer(owner))
    if outcome.job is not None:
        await start_progress(bot, message.chat.id, owner, outcome.job, progress)
    if outcome.invoice is not None:
        await send_invoice(bot, message.chat.id, outcome.invoice)


async def on_unknown(query: CallbackQuery) -> None:
    """A button this bot no longer knows (made by an older version)."""
    await query.answer(str(texts.STALE_BUTTON), show_alert=True)


def build() -> Router:
    """The router of every button."""
    router = Router(name="buttons")
    router.callback_query.register(on_button, ActionCb.filter())
    router.callback_query.register(on_unknown)
    return router
