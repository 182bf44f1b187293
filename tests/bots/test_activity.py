"""/activity on both bots against their fake servers: the newest items with read markers and
the unread count, and Mark all read, which shows the feed again in place.

One person with both identities linked: what happened on Telegram reads the same on Discord.
"""

import asyncio
from typing import Any

from bots.common import activity_texts
from bots.common.actions import Action
from bots.discord.buttons import ActionButton
from bots.discord.main import run as run_discord
from bots.telegram.callbacks import ActionCb
from bots.telegram.main import run as run_telegram
from daemon.keys import SESSIONMAKER
from tests.bots.conftest import Daemon, bot_settings
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.conftest import make_dataset

TG_USER = 7301
DC_USER = 123456789012345673
TG, DC = f"telegram:{TG_USER}", f"discord:{DC_USER}"
NEWCOMER = 7399
# The actions pressed here (the bots' every-action tests leave them to this one).
ACTIVITY_ACTIONS = {Action.mark_all_read}


async def _cancelled_training(daemon: Daemon, key: str) -> tuple[int, int]:
    """A training of the person's, queued and cancelled: (its id, the points refunded)."""
    me = await daemon.get("/v1/me", TG)
    async with daemon.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, me["id"], images=4)
        dataset_id = dataset.id
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    job = await daemon.post("/v1/jobs", TG, {**body, "idempotency_key": key})
    cancelled = await daemon.post(f"/v1/jobs/{job['id']}/cancel", TG, {})
    return job["id"], cancelled["refunded"]


def _start_bots(daemon: Daemon, tg: FakeTelegram, dc: FakeDiscord, run_bot: Any) -> None:
    tg_settings = bot_settings(
        daemon,
        telegram_token=tg.token,
        telegram_api_base=tg.base_url,  # type: ignore[attr-defined]
    )
    dc_settings = bot_settings(
        daemon,
        discord_token=dc.token,
        discord_api_base=dc.api_base,  # type: ignore[attr-defined]
        discord_gateway=dc.gateway_url,  # type: ignore[attr-defined]
    )
    run_bot(run_telegram, tg_settings)
    run_bot(run_discord, dc_settings)


async def _discord_ready(fake: FakeDiscord) -> None:
    await asyncio.wait_for(fake.identified.wait(), 30)
    for _ in range(200):  # commands are synced in setup_hook, before the gateway connects
        if fake.commands:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")


async def test_activity_on_both_bots_marks_all_read_in_place(
    daemon: Daemon, fake_telegram: FakeTelegram, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    tg, dc = fake_telegram, fake_discord
    await daemon.grant(TG, 1000)
    first, refunded = await _cancelled_training(daemon, "first")
    code = await daemon.post("/v1/me/link-code", TG, {})
    await daemon.post("/v1/me/link", DC, {"code": code["code"]})
    _start_bots(daemon, tg, dc, run_bot)

    mark = len(tg.log)
    tg.send_text(NEWCOMER, "/activity")
    assert (await tg.wait_text(activity_texts.EMPTY, after=mark)).markup is None

    mark = len(tg.log)
    tg.send_text(TG_USER, "/activity")
    feed = await tg.wait_text("Your activity", after=mark)
    lines = feed.text.splitlines()
    assert lines[0] == "Your activity — 2 unread (newest first):"
    assert lines[1].startswith("● ") and lines[1].endswith(
        "· Linked your Discord account into this one"
    )
    assert lines[2].endswith(f"· Training #{first} cancelled, {refunded} points refunded")
    assert len(lines) == 3 and refunded > 0
    mark = len(tg.log)
    data = tg.press(TG_USER, feed, activity_texts.BTN_MARK_ALL_READ)
    assert ActionCb.unpack(data).action in ACTIVITY_ACTIONS
    marked = await tg.wait_text("all read", after=mark)
    assert (marked.method, marked.message_id) == ("editMessageText", feed.message_id)
    assert [line[0] for line in marked.text.splitlines()[1:]] == ["○", "○"]
    assert marked.markup is None  # nothing is left to mark

    # Something new happens; Discord (the same account) shows it unread above the read ones.
    second, _ = await _cancelled_training(daemon, "second")
    await _discord_ready(dc)
    assert "activity" in {c["name"] for c in dc.commands}
    mark = len(dc.log)
    await dc.slash(DC_USER, "activity")
    page = await dc.wait_text("Your activity", after=mark)
    lines = page.content.splitlines()
    assert page.ephemeral and lines[0] == "Your activity — 1 unread (newest first):"
    assert lines[1].startswith("● ") and f"Training #{second} cancelled" in lines[1]
    assert [line[0] for line in lines[2:]] == ["○", "○"]
    mark = len(dc.log)
    custom_id = await dc.press(DC_USER, page, activity_texts.BTN_MARK_ALL_READ)
    match = ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None and Action(match["action"]) in ACTIVITY_ACTIONS
    edited = await dc.wait_text("all read", after=mark)
    assert edited.message_id == page.message_id and edited.components == []
    assert [line[0] for line in edited.content.splitlines()[1:]] == ["○", "○", "○"]
    assert (await daemon.get("/v1/activity/unread-count", TG)) == {"unread": 0}
