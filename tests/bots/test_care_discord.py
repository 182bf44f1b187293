"""Dataset care on Discord: a zip posted in the journey, an attachment over the configured
maximum, the contact sheet, removal by button and by a modal's number, rename, tags and
description in modals; against the real daemon on a fake Discord."""

import asyncio
from typing import Any

from bots.discord.main import run
from tests.bots.care import (
    ZIP_ENTRIES,
    check_zip_captions,
    sheet_size,
    zip_refusals,
    zipped,
)
from tests.bots.conftest import Daemon, bot_settings
from tests.bots.fakes.discord import FakeDiscord, Sent
from tests.bots.test_discord import USER, WHO, _modal, _press, _slash

LIMIT = 1024 * 1024  # the configured largest attachment, small for the test


async def _start(fake: FakeDiscord, daemon: Daemon, run_bot: Any) -> None:
    settings = bot_settings(
        daemon,
        discord_token=fake.token,
        discord_api_base=fake.api_base,  # type: ignore[attr-defined]
        discord_gateway=fake.gateway_url,  # type: ignore[attr-defined]
        discord_max_attachment_bytes=LIMIT,
    )
    run_bot(run, settings)
    await asyncio.wait_for(fake.identified.wait(), 30)
    for _ in range(200):
        if fake.commands:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")


async def _answer(fake: FakeDiscord, sent: Sent, label: str, value: str, expect: str) -> Sent:
    """Press a care button, answer its modal; the answer's message."""
    return await _modal(fake, sent, label, value, expect)


async def test_dataset_care_on_discord(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    await _start(fake, daemon, run_bot)
    first = await _slash(fake, "train", "start", "Let's make one")
    asked = await _press(fake, first, "New dataset", "Send me a name")
    await _modal(fake, asked, "Dataset name", "My Cat", "Send images now")
    mark = len(fake.log)
    await fake.post(USER, "", [("cats.zip", zipped(ZIP_ENTRIES))])
    zip_refusals((await fake.wait_text("now has 3", after=mark)).content)
    dataset_id = await check_zip_captions(daemon, WHO)

    # Over the configured maximum: answered from its size, never downloaded.
    mark, fetched = len(fake.log), len(fake.downloads)
    await fake.post(USER, "", [("huge.png", bytes(LIMIT + LIMIT // 2))])
    refused = await fake.wait_text("✗ huge.png:", after=mark)
    assert "the file has 1.5 MB, more than the 1 MB I can fetch from Discord" in refused.content
    assert fake.downloads[fetched:] == []

    datasets = await _slash(fake, "datasets", "list", "My Cat — 3 images")
    detail = await _press(fake, datasets, "My Cat", "Dataset #")
    sheet = await _press(fake, detail, "Contact sheet", "page 1 of 1")
    assert "1. a cat on a sofa\n2. a cat asleep\n3. —" in sheet.content
    [(name, data)] = sheet.files
    assert name.endswith(".png") and sheet_size(data)[0] > sheet_size(data)[1]  # one row of 3

    mark = len(fake.log)
    await fake.press(USER, sheet, "✗ 2")
    await fake.wait_text("Removed image 2 (cat2.png).", after=mark)
    again = await fake.wait_text("page 1 of 1", after=mark)
    assert "1. a cat on a sofa\n2. —" in again.content and "3." not in again.content

    # The number in a modal: one outside the list changes nothing; the button asks again.
    await _answer(
        fake, again, "Remove an image", "7", "There is no image 7: send a number from 1 to 2."
    )
    after = await _answer(fake, again, "Remove an image", "2", "page 1 of 1")
    assert "images 1–1 of 1" in after.content

    await _answer(fake, detail, "Rename", "x" * 101, "A dataset name needs 1 to 100 characters")
    await _answer(fake, detail, "Rename", "Kitten", "Renamed to “Kitten”.")
    many = ", ".join(f"t{i}" for i in range(21))
    await _answer(fake, detail, "Tags", many, "at most 20 tags; you sent 21")
    await _answer(fake, detail, "Tags", "cat, #portrait", "Tags saved: cat, portrait.")
    described = await _answer(fake, detail, "Description", "Asleep, mostly.", "Description saved.")
    assert "Description: Asleep, mostly.\nTags: cat, portrait" in described.content
    stored = await daemon.get(f"/v1/datasets/{dataset_id}", WHO)
    assert (stored["name"], stored["tags"], stored["description"]) == (
        "Kitten",
        ["cat", "portrait"],
        "Asleep, mostly.",
    )
    images = (await daemon.get(f"/v1/datasets/{dataset_id}/images", WHO))["images"]
    assert [i["filename"] for i in images] == ["cat1.png"]
