"""Typed callback data of the Telegram buttons (short prefixes: Telegram allows 64 bytes)."""

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData

from bots.common.screens import Button


class TrainCb(CallbackData, prefix="t"):
    """A button of the training journey: owner, conversation token, action, argument."""

    owner: int
    token: str
    action: str
    arg: str = ""


class LibCb(CallbackData, prefix="l"):
    """A button of the lists (datasets, models, jobs) and of progress messages."""

    owner: int
    action: str
    arg: str = ""


Packer = Callable[[Button], str]


def train_packer(owner: int, token: str) -> Packer:
    """Pack training buttons of one conversation."""
    return lambda b: TrainCb(owner=owner, token=token, action=b.action, arg=b.arg).pack()


def lib_packer(owner: int) -> Packer:
    """Pack list and progress buttons of one person."""
    return lambda b: LibCb(owner=owner, action=b.action, arg=b.arg).pack()
