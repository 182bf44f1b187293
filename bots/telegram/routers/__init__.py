"""The Telegram routers, one per feature, built fresh by `build_routers` (a Router joins once)."""

from aiogram import Router

from bots.telegram.routers import account, buttons, errors, library, market, train


def build_routers() -> list[Router]:
    """New router instances for one Dispatcher."""
    return [
        errors.build(),
        account.build(),
        train.build(),
        library.build(),
        market.build(),
        buttons.build(),
    ]
