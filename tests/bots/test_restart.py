"""Nothing a bot process holds is lost with it: a journey restarted between its images and
Confirm goes on where it was, a second replica reading the same conversation cannot overwrite
the first one's step, and the progress message of a running job is edited again by the next
process. Real bots, the real daemon (its queue stopped: the job's progress is set by hand)."""

import asyncio
from typing import Any

import aiohttp
import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import update

from bots.common.client import DaemonClient
from bots.common.errors import StaleStateError
from bots.common.train import TrainState
from bots.discord.journeys import Journeys
from bots.telegram.storage import DaemonStorage
from core.db.models import Job
from core.enums import JobStatus
from daemon.keys import SESSIONMAKER
from tests.bots import test_discord as dc
from tests.bots import test_telegram as tg
from tests.bots.conftest import Daemon, png
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.conftest import RPC_HEADERS, RPC_TOKEN


async def _recorded(daemon: Daemon, platform: str) -> int:
    """The job whose progress message the bot recorded, once it has."""
    url = f"{daemon.url}/v1/progress-messages?platform={platform}"
    async with aiohttp.ClientSession(headers=RPC_HEADERS) as http:
        for _ in range(200):
            async with http.get(url) as response:
                messages = (await response.json())["messages"]
            if messages:
                return int(messages[0]["job_id"])
            await asyncio.sleep(0.05)
    raise AssertionError(f"no {platform} progress message was recorded")


async def _training(daemon: Daemon, job_id: int) -> None:
    """The job as a worker would leave it mid-training (the queue does not run here)."""
    async with daemon.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.training, step=3, total_steps=10, loss=0.25)
        )


async def test_telegram_journey_and_progress_survive_restarts(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    await daemon.grant(tg.WHO, 1000)
    bot = run_bot(tg.run, tg._settings(daemon, fake))
    first = await tg._say(fake, "/train", "Let's make one")
    await tg._press(fake, first, "New dataset", "Send me a name")
    await tg._say(fake, "My Cat", "Send images now")
    for seed in range(1, 4):
        mark = len(fake.log)
        fake.send_photo(tg.USER, png(seed), caption=f"a cat, take {seed}")
        ack = await fake.wait_text(f"now has {seed}", after=mark)
    await bot.stop()

    # A new process: the next message is still an image of the same journey.
    bot = run_bot(tg.run, tg._settings(daemon, fake))
    mark = len(fake.log)
    fake.send_photo(tg.USER, png(4), caption="a cat, take 4")
    await fake.wait_text("now has 4", after=mark)
    await bot.stop()
    # Another process again, and a press on a message the first process sent.
    bot = run_bot(tg.run, tg._settings(daemon, fake))
    trigger = await tg._press(fake, ack, "Done", "Suggested: mycat")
    offerings = await tg._press(fake, trigger, "Use mycat", "What should I train?")
    presets = await tg._press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await tg._press(fake, presets, "fast", "Price:")
    mark = len(fake.log)
    fake.press(tg.USER, summary, "Confirm")
    progress = await fake.wait_for(
        lambda s: s.method == "sendMessage" and s.text.startswith("Job #"), after=mark
    )
    job_id = await _recorded(daemon, "telegram")
    await bot.stop()

    await _training(daemon, job_id)
    mark = len(fake.log)
    run_bot(tg.run, tg._settings(daemon, fake))
    edited = await fake.wait_text("3/10", after=mark)
    assert (edited.method, edited.chat_id) == ("editMessageText", progress.chat_id)
    assert edited.message_id == progress.message_id


async def _restart(fake: FakeDiscord, daemon: Daemon, run_bot: Any, bot: Any) -> Any:
    """Stop the Discord bot, wait until its gateway session is gone, start a new process."""
    await bot.stop()
    for _ in range(200):
        if not fake.identified.is_set():
            return await dc._start(fake, daemon, run_bot)
        await asyncio.sleep(0.05)
    raise AssertionError("the stopped bot's gateway session stayed open")


async def test_discord_journey_and_progress_survive_restarts(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    await daemon.grant(dc.WHO, 1000)
    bot = await dc._start(fake, daemon, run_bot)
    first = await dc._slash(fake, "train", "start", "Let's make one")
    asked = await dc._press(fake, first, "New dataset", "Send me a name")
    await dc._modal(fake, asked, "Dataset name", "My Cat", "Send images now")
    attachments = {f"image{n}": (f"{n}.png", png(n)) for n in range(1, 4)}
    options = {"caption": "a cat"}
    await dc._slash(fake, "train", "upload", "now has 3", attachments=attachments, options=options)
    bot = await _restart(fake, daemon, run_bot, bot)  # the journey's channel is remembered too
    mark = len(fake.log)
    await fake.post(dc.USER, "a cat asleep", [("d.png", png(4))])
    ack = await fake.wait_text("now has 4", after=mark)
    bot = await _restart(fake, daemon, run_bot, bot)
    trigger = await dc._press(fake, ack, "Done", "Suggested: mycat")
    offerings = await dc._press(fake, trigger, "Use mycat", "What should I train?")
    presets = await dc._press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await dc._press(fake, presets, "fast", "Price:")
    progress = await dc._confirm(fake, summary)
    job_id = await _recorded(daemon, "discord")
    await bot.stop()

    await _training(daemon, job_id)
    mark = len(fake.log)
    await _restart(fake, daemon, run_bot, bot)
    edited = await fake.wait_text("3/10", after=mark)
    # The channel message, edited through the bot's REST: no interaction token is needed.
    assert (edited.how, edited.message_id) == ("edit", progress.message_id)


async def test_two_replicas_cannot_overwrite_each_others_step(daemon: Daemon) -> None:
    async with (
        DaemonClient(daemon.url, RPC_TOKEN, attempts=2, backoff=0.05) as one,
        DaemonClient(daemon.url, RPC_TOKEN, attempts=2, backoff=0.05) as other,
    ):
        first, second = DaemonStorage(one), DaemonStorage(other)
        key = tg_key()

        async def step(storage: DaemonStorage, state: str, moved: asyncio.Event) -> None:
            await storage.get_state(key)  # both read version 0 ...
            moved.set() if state == "replica" else await moved.wait()
            await storage.set_state(key, state)
            await storage.flush()  # ... the second to write it is refused

        moved = asyncio.Event()
        done = await asyncio.gather(
            asyncio.ensure_future(step(second, "replica", moved)),
            asyncio.ensure_future(step(first, "first", moved)),
            return_exceptions=True,
        )
        assert done[0] is None and isinstance(done[1], StaleStateError)
        assert await asyncio.ensure_future(first.get_state(key)) == "replica"

        # Discord's journeys: the same guard between two processes.
        user = _User(dc.USER)
        a, b = Journeys(one), Journeys(other)
        talk_a, talk_b = await a.load(user), await b.load(user)
        talk_b.keep(TrainState(), channel_id=1)
        await b.save(talk_b)
        talk_a.keep(TrainState(), channel_id=2)
        with pytest.raises(StaleStateError):
            await a.save(talk_a)
        assert (await a.load(user)).held.channel_id == 1


def tg_key() -> StorageKey:
    return StorageKey(bot_id=1, chat_id=tg.USER, user_id=tg.USER)


class _User:
    """What `Journeys` reads of a Discord user: the id."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id
