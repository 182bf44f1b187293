"""`lorabot telegram` and `lorabot discord` as real processes, configured by environment only."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import unused_port

from tests.bots.conftest import Daemon
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.conftest import RPC_TOKEN


@asynccontextmanager
async def _running(
    command: str, daemon: Daemon, env: dict[str, str], *args: str
) -> AsyncIterator[None]:
    """`lorabot COMMAND ARGS` as a process pointed at `daemon`, terminated (killed if stuck)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        command,
        *args,
        env={
            **os.environ,
            "LORABOT_RPC_TOKEN": RPC_TOKEN,
            "LORABOT_LOG_LEVEL": "WARNING",
            "LORABOT_DAEMON_URL": daemon.url,
            **env,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_lorabot_telegram_answers(daemon: Daemon, fake_telegram: FakeTelegram) -> None:
    fake: Any = fake_telegram
    env = {"LORABOT_TELEGRAM_TOKEN": fake.token, "LORABOT_TELEGRAM_API_BASE": fake.base_url}
    async with _running("telegram", daemon, env):
        fake.send_text(501, "/start")
        welcome = await fake.wait_text("Welcome to lorabot", timeout=60)
        assert welcome.chat_id == 501 and "Your balance: 0 points" in welcome.text
        assert "setMyCommands" in fake.calls


async def test_lorabot_telegram_webhook_answers(
    daemon: Daemon, fake_telegram: FakeTelegram
) -> None:
    fake: Any = fake_telegram
    port = unused_port()
    env = {
        "LORABOT_TELEGRAM_TOKEN": fake.token,
        "LORABOT_TELEGRAM_API_BASE": fake.base_url,
        "LORABOT_TELEGRAM_WEBHOOK_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with _running("telegram", daemon, env, "--webhook", url):
        fake.send_text(502, "/start")
        welcome = await fake.wait_text("Welcome to lorabot", timeout=60)
        assert welcome.chat_id == 502
        assert fake.webhook.hook.url == url and "getUpdates" not in fake.calls


async def test_a_bad_webhook_url_is_a_clear_error() -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "core.cli", "telegram", "--webhook", "ftp://bot.example.com/h"),
        env={**os.environ, "LORABOT_TELEGRAM_TOKEN": "123:TEST"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    assert "LORABOT_TELEGRAM_WEBHOOK_URL: the Telegram webhook URL must be an https://" in (
        err.decode()
    )


async def test_lorabot_discord_answers(daemon: Daemon, fake_discord: FakeDiscord) -> None:
    fake: Any = fake_discord
    env = {
        "LORABOT_DISCORD_TOKEN": fake.token,
        "LORABOT_DISCORD_API_BASE": fake.api_base,
        "LORABOT_DISCORD_GATEWAY": fake.gateway_url,
    }
    async with _running("discord", daemon, env):
        await asyncio.wait_for(fake.identified.wait(), 60)
        for _ in range(200):
            if fake.commands:
                break
            await asyncio.sleep(0.05)
        await fake.slash(42, "account", "help")
        help_text = await fake.wait_text("What I can do", timeout=30)
        assert help_text.ephemeral and "/train start" in help_text.content


@pytest.mark.parametrize("command", ["telegram", "discord"])
async def test_missing_token_is_a_clear_error(command: str) -> None:
    env = {"LORABOT_TELEGRAM_TOKEN": "", "LORABOT_DISCORD_TOKEN": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        command,
        env={k: v for k, v in os.environ.items() if k not in env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    assert f"LORABOT_{command.upper()}_TOKEN is not set" in err.decode()
