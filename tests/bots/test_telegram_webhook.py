"""The Telegram bot in webhook mode: the fake Bot API POSTs updates to the bot's own server."""

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import unused_port

from bots.common.settings import BotSettings
from bots.telegram.main import run
from bots.telegram.webhook import webhook_secret
from tests.bots.conftest import Daemon, bot_settings
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.fakes.telegram_webhook import GET_UPDATES_CONFLICT, POLL_ENDED_BY_WEBHOOK
from tests.bots.test_telegram import USER, WHO, _press, _say, _settings, _to_summary
from tests.conftest import ADMIN_HEADERS

PATH = "/telegram/webhook"


def _webhook_settings(daemon: Daemon, fake: FakeTelegram, **fields: Any) -> BotSettings:
    """Settings of a bot that serves its webhook on a free port of 127.0.0.1."""
    port = unused_port()
    return bot_settings(
        daemon,
        telegram_token=fake.token,
        telegram_api_base=fake.base_url,  # type: ignore[attr-defined]
        telegram_webhook_url=f"http://127.0.0.1:{port}{PATH}",
        telegram_webhook_port=port,
        **fields,
    )


async def _bot_api(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """Call the fake Bot API as any client would; the status and the JSON answer."""
    url = f"{fake.base_url}/bot{fake.token}/{method}"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http, http.post(url, json=params) as resp:
        return resp.status, await resp.json()


def _forged_start(user_id: int) -> dict[str, Any]:
    """A well-formed `/start` update, as someone who is not Telegram could post it."""
    return {
        "update_id": 900_000 + user_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_the_journey_runs_on_the_webhook(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    await daemon.grant(WHO, 1000)
    settings = _webhook_settings(daemon, fake)
    run_bot(run, settings)
    summary = await _to_summary(fake)
    await _press(fake, summary, "Confirm", "is queued")
    jobs = await _say(fake, "/jobs", "queued")
    await _press(fake, jobs, "Cancel job", "points refunded")
    # The notification deliverer runs beside the webhook: the cancellation notice arrives.
    await fake.wait_text("was cancelled", timeout=30)

    hook = fake.webhook.hook
    assert hook is not None and hook.url == settings.telegram_webhook_url
    assert hook.secret_token == webhook_secret(settings)  # derived from the bot token
    assert {"message", "callback_query", "pre_checkout_query"} <= set(fake.allowed_updates)
    assert "getUpdates" not in fake.calls
    deliveries = fake.webhook.deliveries
    assert deliveries and all(d.status == 200 for d in deliveries)
    # Answered at once, handled in the background: /train's answer reached Telegram before
    # the bot's reply to it did.
    reply = await fake.wait_text("Let's make one")
    assert deliveries[0].answered_at <= reply.at


async def test_updates_without_the_secret_are_refused(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    settings = _webhook_settings(daemon, fake, telegram_webhook_secret="replicas-share-this-1")
    run_bot(run, settings)
    await _say(fake, "/help", "What I can do")  # served and registered
    assert fake.webhook.hook is not None
    assert fake.webhook.hook.secret_token == "replicas-share-this-1"

    url = settings.telegram_webhook_url
    assert url is not None
    async with aiohttp.ClientSession() as http:
        for user_id, headers in (
            (8081, {}),
            (8082, {"X-Telegram-Bot-Api-Secret-Token": "guessed"}),
        ):
            async with http.post(url, json=_forged_start(user_id), headers=headers) as resp:
                assert (resp.status, await resp.text()) == (401, "Unauthorized")
    mark = len(fake.log)
    fake.send_text(8083, "/start")  # the same update through Telegram is handled
    await fake.wait_text("Welcome to lorabot", after=mark)

    assert {s.chat_id for s in fake.log} == {USER, 8083}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{daemon.url}/admin/accounts", headers=ADMIN_HEADERS) as resp,
    ):
        accounts = (await resp.json())["accounts"]
    seen = {i["platform_user_id"] for a in accounts for i in a["identities"]}
    assert "8083" in seen and not seen & {"8081", "8082"}  # the forged ones reached nothing


async def test_switching_modes_keeps_pending_updates(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    webhook_bot = run_bot(run, _webhook_settings(daemon, fake))
    await _say(fake, "/help", "What I can do")
    status, answer = await _bot_api(fake, "getUpdates")
    assert (status, answer["description"]) == (409, GET_UPDATES_CONFLICT)

    # Stopped, the webhook bot leaves its webhook set: Telegram keeps what arrives meanwhile.
    await webhook_bot.stop()
    mark = len(fake.log)
    fake.send_text(USER, "/balance")
    await fake.wait_delivery(lambda d: d.status is None)  # refused: nobody listens
    _, info = await _bot_api(fake, "getWebhookInfo")
    assert info["result"]["url"].endswith(PATH)
    assert info["result"]["pending_update_count"] == 1
    assert info["result"]["last_error_message"] == "Connection refused"

    # Polling deletes the webhook but not its pending updates: /balance is answered now.
    polling_bot = run_bot(run, _settings(daemon, fake))
    await fake.wait_text("Balance: 0 points.", after=mark)
    assert fake.webhook.hook is None and "deleteWebhook" in fake.calls
    await polling_bot.stop()

    # And back: the webhook is set again and the next update arrives through it.
    delivered = len(fake.webhook.deliveries)
    run_bot(run, _webhook_settings(daemon, fake))
    await _say(fake, "/help", "What I can do")
    assert fake.webhook.hook is not None
    assert any(d.status == 200 for d in fake.webhook.deliveries[delivered:])


async def test_the_fake_bot_api_keeps_telegrams_webhook_rules(
    fake_telegram: FakeTelegram,
) -> None:
    fake = fake_telegram
    status, answer = await _bot_api(
        fake, "setWebhook", url="http://127.0.0.1:9/h", secret_token="a b"
    )
    assert (status, answer["description"]) == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    assert fake.webhook.hook is None
    poll = asyncio.create_task(_bot_api(fake, "getUpdates", timeout=20))
    for _ in range(500):
        if "getUpdates" in fake.calls:
            break
        await asyncio.sleep(0.01)
    assert (await _bot_api(fake, "setWebhook", url="http://127.0.0.1:9/h"))[0] == 200
    status, answer = await poll  # the waiting long poll is ended by the new webhook
    assert (status, answer["description"]) == (409, POLL_ENDED_BY_WEBHOOK)
    assert (await _bot_api(fake, "setWebhook", url=""))[1]["result"] is True  # removes it
    _, info = await _bot_api(fake, "getWebhookInfo")
    assert info["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
