"""Fixtures of the bot tests: a real daemon on 127.0.0.1, fake chat platforms, running bots."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.settings import BotSettings
from daemon.app import create_app
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.prepared import Prepared, prepare
from tests.conftest import ADMIN_HEADERS, RPC_TOKEN, user_headers
from tests.imagefactory import encode, shapes_image
from tests.queue.conftest import link_base_models, shared_flux_base_models

__all__ = ["shared_flux_base_models"]  # a fixture of the queue suites, used here too


def png(seed: int, size: int = 64) -> bytes:
    """A distinct small PNG picture."""
    return encode(shapes_image(size, size, seed=seed), "PNG")


@dataclass
class Daemon:
    """A running daemon and what tests need to act as an operator on it."""

    url: str
    app: Any

    async def grant(self, who: str, amount: int) -> int:
        """Give the person `<platform>:<id>` points; return their account id."""
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.url}/v1/me", headers=user_headers(who)) as resp:
                account_id = (await resp.json())["id"]
            body = {"amount": amount, "reason": "test", "idempotency_key": uuid.uuid4().hex}
            grant_url = f"{self.url}/admin/accounts/{account_id}/grant"
            async with http.post(grant_url, json=body, headers=ADMIN_HEADERS) as resp:
                assert resp.status in (200, 201), await resp.text()
        return account_id

    async def post(self, path: str, who: str, body: Any) -> Any:
        """POST a route as a person."""
        url, headers = self.url + path, user_headers(who)
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=body, headers=headers) as resp,
        ):
            assert resp.status in (200, 201), await resp.text()
            return await resp.json()

    async def get(self, path: str, who: str | None = None) -> Any:
        """GET a route as a person (or with the admin token when `who` is None)."""
        headers = user_headers(who) if who else ADMIN_HEADERS
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.url + path, headers=headers) as r,
        ):
            assert r.status == 200, await r.text()
            return await r.json()

    async def wait_completed(self, who: str, timeout: float = 300.0) -> dict[str, Any]:
        """The person's newest job once it completed (fails on timeout or another end)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            job = (await self.get("/v1/jobs", who))["jobs"][0]
            if job["status"] in ("completed", "failed", "cancelled"):
                assert job["status"] == "completed", job
                return dict(job)
            await asyncio.sleep(0.5)  # under the per-person rate limit (4 calls a second)
        raise AssertionError(f"the job of {who} did not finish in {timeout:.0f} s")


async def _serve(aiohttp_server: Any, settings: Any) -> Daemon:
    app = create_app(settings)
    server = await aiohttp_server(app, host="127.0.0.1")
    return Daemon(str(server.make_url("")).rstrip("/"), app)


@pytest.fixture
async def daemon(make_settings: Callable[..., Any], aiohttp_server: Any) -> Daemon:
    """A daemon that only serves the RPC (jobs stay queued)."""
    return await _serve(aiohttp_server, make_settings(run_queue=False))


@pytest.fixture
async def training_daemon(make_settings: Callable[..., Any], aiohttp_server: Any) -> Daemon:
    """A daemon that runs its queue: real worker processes train the tiny model."""
    settings = make_settings(run_queue=True, notification_lease_seconds=3.0)
    return await _serve(aiohttp_server, settings)


@pytest.fixture
async def flux_daemon(
    make_settings: Callable[..., Any], aiohttp_server: Any, shared_flux_base_models: Path
) -> Daemon:
    """A daemon running its queue on a DATA_DIR that has the session's tiny FLUX.1."""
    settings = make_settings(run_queue=True, notification_lease_seconds=3.0)
    link_base_models(settings.data_dir, shared_flux_base_models)
    return await _serve(aiohttp_server, settings)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """An account with a dataset and a trained LoRA, made once (see `tests.bots.prepared`)."""
    return prepare(tmp_path_factory.mktemp("prepared") / "data")


@pytest.fixture
async def prepared_daemon(
    prepared: Prepared, make_settings: Callable[..., Any], aiohttp_server: Any, tmp_path: Path
) -> Daemon:
    """A daemon running its queue on a copy of the prepared data."""
    prepared.copy_to(tmp_path / "data")
    settings = make_settings(run_queue=True, notification_lease_seconds=3.0)
    return await _serve(aiohttp_server, settings)


@pytest.fixture
async def prepared_rpc_daemon(
    prepared: Prepared, make_settings: Callable[..., Any], aiohttp_server: Any, tmp_path: Path
) -> Daemon:
    """A daemon serving only the RPC on a copy of the prepared data (jobs stay queued)."""
    prepared.copy_to(tmp_path / "data")
    return await _serve(aiohttp_server, make_settings(run_queue=False))


@pytest.fixture
async def rpc(daemon: Daemon) -> AsyncIterator[DaemonClient]:
    """A client of the RPC-only daemon."""
    async with DaemonClient(daemon.url, RPC_TOKEN, attempts=2, backoff=0.05) as client:
        yield client


@pytest.fixture
def alice() -> Actor:
    return Actor(platform="telegram", user_id="501")


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.base_url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.close()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    fake.api_base, fake.gateway_url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.close()


class BotProcess:
    """A bot's `run(settings)` as a task in this event loop, restartable."""

    def __init__(self, run: Callable[[BotSettings], Awaitable[None]], settings: BotSettings):
        self._run, self.settings = run, settings
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(self.settings))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


def bot_settings(daemon: Daemon, **fields: Any) -> BotSettings:
    """Settings of a bot talking to `daemon`, with fast progress edits for tests."""
    return BotSettings(
        daemon_url=daemon.url,
        rpc_token=RPC_TOKEN,
        progress_interval=0.5,
        notification_wait=2.0,
        **fields,
    )


@pytest.fixture
async def run_bot() -> AsyncIterator[Callable[[Any, BotSettings], BotProcess]]:
    """Start bots (telegram.main.run / discord.main.run); all are stopped at the end."""
    started: list[BotProcess] = []

    def start(run: Any, settings: BotSettings) -> BotProcess:
        bot = BotProcess(run, settings)
        bot.start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        await bot.stop()
