"""The typed callback data of every Telegram button (a short prefix: Telegram allows 64 bytes)."""

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData

from bots.common.actions import Action
from bots.common.screens import Button


class ActionCb(CallbackData, prefix="a"):
    """A button: who may press it, its journey's token ("" outside one), action, argument."""

    owner: int
    token: str = ""
    action: Action
    arg: str = ""


Packer = Callable[[Button], str]


def packer(owner: int, token: str = "") -> Packer:
    """Pack the buttons of one person's screen (of the journey `token`, if any)."""
    return lambda b: ActionCb(owner=owner, token=token, action=b.action, arg=b.arg).pack()
