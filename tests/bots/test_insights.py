"""`/stats` and `/spending` on both bots' fake servers: a text checked against a known history
(`tests.daemon.history`) and the daemon's chart as a photo (Telegram) or attachment (Discord)."""

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from bots.common.insights_texts import size
from bots.telegram.main import run as run_telegram
from daemon.app import create_app
from tests.bots.conftest import Daemon, bot_settings
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.test_discord import USER as DC_USER
from tests.bots.test_discord import WHO as DC_WHO
from tests.bots.test_discord import _start as start_discord
from tests.bots.test_telegram import USER as TG_USER
from tests.bots.test_telegram import WHO as TG_WHO
from tests.conftest import user_headers
from tests.daemon.economy import write_economy
from tests.daemon.history import History, make_history

OTHER = "telegram:7999"


@pytest.fixture
async def shop_client(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> TestClient:
    """A daemon (RPC only) selling the packs the history buys."""
    settings = make_settings(economy_file=write_economy(tmp_path), run_queue=False)
    return await aiohttp_client(create_app(settings), server_kwargs={"host": "127.0.0.1"})


def served(client: TestClient) -> Daemon:
    return Daemon(str(client.server.make_url("")).rstrip("/"), client.app)


def stats_lines(h: History) -> list[str]:
    c, k = h.training_cost, h.caption_cost
    return [
        "Trainings: 5 — 2 completed, 1 failed, 1 cancelled, 1 queued or running",
        "Success rate: 67% · average duration: 1 min 0 s",
        f"Points spent on jobs: {3 * c + k} (training {3 * c}, captioning {k}, generation 0)",
        f"Datasets: 2 with 8 images ({size(h.image_bytes)}), used 1 time(s) by others",
        "Most used tags: garden (5), dog (4), cat (3), sofa (1)",
    ]


def spending_lines(h: History) -> list[str]:
    c, k = h.training_cost, h.caption_cost
    return [
        f"Spent: {3 * c + k} points (before: 0)",
        f"By type: training {5 * c}, captioning {k}, generation 0",
        f"Refunded: {2 * c} points (before: 0)",
        "Bought: 100 points (before: 1000, -90%)",
        f"Royalties earned: {h.royalty} points (before: 0)",
    ]


def assert_chart(data: bytes) -> None:
    picture = Image.open(BytesIO(data))
    assert (picture.format, picture.size) == ("PNG", (800, 400))


async def test_stats_and_spending_on_telegram(
    shop_client: TestClient, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake, daemon = fake_telegram, served(shop_client)
    history = await make_history(shop_client, TG_WHO, OTHER)
    run_bot(
        run_telegram,
        bot_settings(daemon, telegram_token=fake.token, telegram_api_base=fake.base_url),  # type: ignore[attr-defined]
    )
    for command, header, lines in (
        ("/stats", "Your last 30 days", stats_lines(history)),
        ("/spending", "Your spending,", spending_lines(history)),
    ):
        mark = len(fake.log)
        fake.send_text(TG_USER, command)
        sent = await fake.wait_text(header, after=mark)
        assert (sent.method, sent.chat_id) == ("sendPhoto", TG_USER)
        for line in lines:
            assert line in sent.text.splitlines(), (line, sent.text)
        assert_chart(sent.data)


async def test_stats_and_spending_on_discord(
    shop_client: TestClient, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    """The history was made on Telegram (Stars purchases); the Discord identity is linked to
    that account, so /stats there shows the same figures."""
    fake, daemon = fake_discord, served(shop_client)
    history = await make_history(shop_client, TG_WHO, OTHER)
    code = await shop_client.post("/v1/me/link-code", json={}, headers=user_headers(TG_WHO))
    body = {"code": (await code.json())["code"]}
    linked = await shop_client.post("/v1/me/link", json=body, headers=user_headers(DC_WHO))
    assert (await linked.json())["account"]["id"] == history.account_id
    await start_discord(fake, daemon, run_bot)
    for command, header, lines in (
        ("stats", "Your last 30 days", stats_lines(history)),
        ("spending", "Your spending,", spending_lines(history)),
    ):
        mark = len(fake.log)
        await fake.slash(DC_USER, command)
        sent = await fake.wait_text(header, after=mark)
        assert sent.ephemeral and sent.how == "followup"
        for line in lines:
            assert line in sent.content.splitlines(), (line, sent.content)
        [(name, data)] = sent.files
        assert name == f"{command}.png"
        assert_chart(data)


async def test_stats_of_someone_with_no_history(
    shop_client: TestClient, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake, daemon = fake_telegram, served(shop_client)
    run_bot(
        run_telegram,
        bot_settings(daemon, telegram_token=fake.token, telegram_api_base=fake.base_url),  # type: ignore[attr-defined]
    )
    fake.send_text(TG_USER, "/stats")
    sent = await fake.wait_text("Your last 30 days")
    assert "Trainings: none in these days." in sent.text
    assert "Points spent on jobs: 0 (training 0, captioning 0, generation 0)" in sent.text
    assert "Datasets: 0 with 0 images (0 B), used 0 time(s) by others" in sent.text
    assert "Most used tags" not in sent.text
    assert_chart(sent.data)
