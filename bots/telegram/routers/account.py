"""/start, /help, /balance and /link."""

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bots.common import library, texts
from bots.common.client import DaemonClient
from bots.telegram.render import actor


async def cmd_start(message: Message, state: FSMContext, client: DaemonClient) -> None:
    """Welcome with the balance and the next step."""
    assert message.from_user is not None
    await state.clear()
    await message.answer((await library.start(client, actor(message.from_user))).text)


async def cmd_help(message: Message) -> None:
    """What the bot can do."""
    await message.answer(str(texts.HELP))


async def cmd_balance(message: Message, client: DaemonClient) -> None:
    """Balance and recent ledger entries."""
    assert message.from_user is not None
    await message.answer((await library.balance(client, actor(message.from_user))).text)


async def cmd_link(message: Message, command: CommandObject, client: DaemonClient) -> None:
    """`/link` issues a code; `/link CODE` redeems one from the other platform."""
    assert message.from_user is not None
    who = actor(message.from_user)
    if command.args:
        screen = await library.link(client, who, command.args)
    else:
        screen = await library.link_code(client, who)
    await message.answer(screen.text)


def build() -> Router:
    """The account router."""
    router = Router(name="account")
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_balance, Command("balance"))
    router.message.register(cmd_link, Command("link"))
    return router
