"""`lorabot telegram` and `lorabot discord` as real processes, configured by environment only."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.bots.conftest import Daemon
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.conftest import RPC_TOKEN


@asynccontextmanager
async def _running(command: str, daemon: Daemon, env: dict[str, str]) -> AsyncIterator[None]:
    """`lorabot COMMAND` as a process pointed at `daemon`, terminated (killed if stuck) after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        command,
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
