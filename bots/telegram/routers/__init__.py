"""The Telegram routers, one per feature, built fresh by `build_routers` (a Router joins once)."""

from aiogram import Router

from bots.telegram.routers import (
    account,
    activity,
    buttons,
    captions,
    care,
    errors,
    imagine,
    insights,
    language,
    library,
    market,
    shop,
    train,
    web,
)


def build_routers() -> list[Router]:
    """New router instances for one Dispatcher."""
    return [
        errors.build(),
        account.build(),
        shop.build(),  # before train: a payment must not be read as the journey's answer
        train.build(),
        captions.build(),
        care.build(),
        imagine.build(),
        library.build(),
        insights.build(),
        market.build(),
        web.build(),
        activity.build(),
        language.build(),
        buttons.build(),
    ]
