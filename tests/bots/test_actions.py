"""One vocabulary of button actions: each has a handler and both front-ends carry and parse it."""

import pytest
from aiogram.types import CallbackQuery, User

from bots.common.actions import Action
from bots.common.dispatch import HANDLERS
from bots.common.screens import Button
from bots.discord.buttons import ActionButton, AnswerButton
from bots.telegram.callbacks import ActionCb, packer
from bots.telegram.routers import buttons

# The longest ids and arguments a button carries: Telegram ids pass 10 digits, Discord
# snowflakes are 19; tokens are 8 characters; "<dataset id>.<image id>" is the longest arg.
TELEGRAM_OWNER, DISCORD_OWNER, TOKEN = 9_999_999_999_999, 1_234_567_890_123_456_789, "Ab-_9xYz"
LONGEST_ARG = "2147483647.2147483647"


def test_every_action_has_one_handler() -> None:
    assert set(HANDLERS) == set(Action)
    assert len({a.value for a in Action}) == len(Action)  # no two actions share a code


@pytest.mark.parametrize("action", list(Action))
async def test_telegram_routes_every_action_to_the_dispatch(action: Action) -> None:
    data = packer(TELEGRAM_OWNER, TOKEN)(Button("label", action, LONGEST_ARG))
    assert len(data.encode()) <= 64  # Telegram's limit on callback data
    query = CallbackQuery(
        id="1",
        from_user=User(id=TELEGRAM_OWNER, is_bot=False, first_name="A"),
        chat_instance="c",
        data=data,
    )
    router = buttons.build()
    handler = next(h for h in router.callback_query.handlers if h.callback is buttons.on_button)
    passed, kwargs = await handler.check(query)
    assert passed
    assert kwargs["callback_data"] == ActionCb(
        owner=TELEGRAM_OWNER, token=TOKEN, action=action, arg=LONGEST_ARG
    )


@pytest.mark.parametrize("action", list(Action))
async def test_discord_parses_every_action_from_its_custom_id(action: Action) -> None:
    made = ActionButton(action, DISCORD_OWNER, TOKEN, LONGEST_ARG, "label")
    custom_id = made.item.custom_id
    assert custom_id is not None and len(custom_id) <= 100  # Discord's limit on custom_id
    match = ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    assert AnswerButton.__discord_ui_compiled_template__.fullmatch(custom_id) is None
    parsed = await ActionButton.from_custom_id(None, made.item, match)  # type: ignore[arg-type]
    assert (parsed.action, parsed.owner, parsed.token, parsed.arg) == (
        action,
        DISCORD_OWNER,
        TOKEN,
        LONGEST_ARG,
    )


def test_unknown_codes_are_not_parsed() -> None:
    assert ActionButton.__discord_ui_compiled_template__.fullmatch("lb:zap:1:t:") is None
    answer = AnswerButton(DISCORD_OWNER, TOKEN).item.custom_id or ""
    assert ActionButton.__discord_ui_compiled_template__.fullmatch(answer) is None
    with pytest.raises(ValueError):
        ActionCb.unpack("a:1:t:zap:")
