"""`/web` on both bots (their fake platform servers, the real daemon): the link the bot sends
signs its person in to the dashboard, once."""

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bots.discord.main import run as run_discord
from bots.telegram.main import run as run_telegram
from tests.bots.conftest import Daemon, bot_settings
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram

LINK = re.compile(r"https?://\S+/ui/sign-in/\S+")
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _sign_in(daemon: Daemon, link: str) -> tuple[int, int, str]:
    """Open the link in a fresh cookie jar and press Sign in: its status, then the status of
    opening the link again, and the page the session sees."""
    path = urlsplit(link).path
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(daemon.url + path) as page:
            token = FORM_TOKEN.search(await page.text())
        assert token, "no sign-in form"
        form = {"csrf_token": token.group(1)}
        async with http.post(daemon.url + path, data=form, allow_redirects=False) as first:
            status = first.status
        async with http.get(daemon.url + "/ui/datasets") as datasets:
            shown = await datasets.text()
        async with http.get(daemon.url + path) as again:
            return status, again.status, shown


async def test_telegram_web_sends_a_one_time_link(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    await daemon.post("/v1/datasets", "telegram:4242", {"name": "holiday shots"})
    run_bot(
        run_telegram,
        bot_settings(
            daemon,
            telegram_token=fake_telegram.token,
            telegram_api_base=fake_telegram.base_url,  # type: ignore[attr-defined]
        ),
    )
    mark = len(fake_telegram.log)
    fake_telegram.send_text(4242, "/web")
    sent = await fake_telegram.wait_text("Your dashboard:", after=mark)
    link = LINK.search(sent.text)
    assert link, sent.text
    first, again, shown = await _sign_in(daemon, link.group(0))
    assert (first, again) == (303, 410)
    assert "holiday shots" in shown  # the bot's person, signed in


async def test_discord_web_sends_the_link_privately(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    settings = bot_settings(
        daemon,
        discord_token=fake_discord.token,
        discord_api_base=fake_discord.api_base,  # type: ignore[attr-defined]
        discord_gateway=fake_discord.gateway_url,  # type: ignore[attr-defined]
    )
    run_bot(run_discord, settings)
    await asyncio.wait_for(fake_discord.identified.wait(), 30)
    for _ in range(200):
        if any(c["name"] == "web" for c in fake_discord.commands):
            break
        await asyncio.sleep(0.05)
    user = 5151
    await daemon.post("/v1/datasets", f"discord:{user}", {"name": "sketches"})
    mark = len(fake_discord.log)
    await fake_discord.slash(user, "web")
    sent = await fake_discord.wait_text("Your dashboard:", after=mark)
    assert sent.ephemeral
    link = LINK.search(sent.content)
    assert link, sent.content
    first, again, shown = await _sign_in(daemon, link.group(0))
    assert (first, again) == (303, 410)
    assert "sketches" in shown
