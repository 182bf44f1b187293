"""Dataset care on Telegram: a zip import in the journey, a file over the download limit, the
contact sheet and its pages, removing images, renaming, description and tags; against the real
daemon on a fake Bot API server."""

import re
from typing import Any

from bots.telegram.main import run
from core.contact_sheet import CELL, GAP
from tests.bots.care import (
    ZIP_ENTRIES,
    add_images,
    check_zip_captions,
    sheet_size,
    zip_refusals,
    zipped,
)
from tests.bots.conftest import Daemon, png
from tests.bots.fakes.telegram import DOWNLOAD_LIMIT, FakeTelegram, Sent
from tests.bots.test_telegram import USER, WHO, _press, _say, _settings


def numbers(sent: Sent) -> list[int]:
    """The numbers beside the captions of a sheet's text."""
    return [int(n) for n in re.findall(r"^(\d+)\. ", sent.text, re.M)]


async def test_zip_import_and_a_file_too_large_to_download(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run, _settings(daemon, fake))
    first = await _say(fake, "/train", "Let's make one")
    await _press(fake, first, "New dataset", "Send me a name")
    await _say(fake, "My Cat", "Send images now")
    mark = len(fake.log)
    fake.send_document(USER, zipped(ZIP_ENTRIES), "cats.zip", "application/zip")
    zip_refusals((await fake.wait_text("now has 3", after=mark)).text)
    await check_zip_captions(daemon, WHO)

    mark, calls = len(fake.log), len(fake.calls)
    fake.send_document(USER, bytes(DOWNLOAD_LIMIT + 1), "huge.png", "image/png")
    refused = await fake.wait_text("✗ huge.png:", after=mark)
    assert "the file has 20 MB, more than the 20 MB I can fetch from Telegram" in refused.text
    assert "Added 0 images" in refused.text and "now has 3" in refused.text
    assert "getFile" not in fake.calls[calls:]  # answered before any download


async def test_contact_sheet_removal_rename_tags_and_description(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run, _settings(daemon, fake))
    dataset = await daemon.post("/v1/datasets", WHO, {"name": "My Cat"})
    await add_images(daemon, WHO, dataset["id"], 23)
    detail = await _press(
        fake, await _say(fake, "/datasets", "Your datasets:"), "My Cat", "Dataset #"
    )
    assert "Description: —\nTags: —" in detail.text

    first = await _press(fake, detail, "Contact sheet", "page 1 of 2")
    assert first.method == "sendPhoto" and "images 1–20 of 23" in first.text
    assert sheet_size(first.data) == (GAP + 5 * (CELL + GAP), GAP + 4 * (CELL + GAP))
    assert numbers(first) == list(range(1, 21))
    second = await _press(fake, first, "Next", "page 2 of 2")
    assert "images 21–23 of 23" in second.text and "21. —" in second.text
    assert numbers(second) == [21, 22, 23]
    assert sheet_size(second.data) == (GAP + 3 * (CELL + GAP), GAP + CELL + GAP)
    back = await _press(fake, second, "Previous", "page 1 of 2")
    assert back.data == first.data

    # By button: ✗ 22 removes the 22nd image; the sheet is shown anew, one fewer.
    images = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", WHO))["images"]
    mark = len(fake.log)
    fake.press(USER, second, "✗ 22")
    await fake.wait_text(f"Removed image 22 ({images[21]['filename']}).", after=mark)
    removed = await fake.wait_text("page 2 of 2", after=mark)
    assert "images 21–22 of 22" in removed.text and numbers(removed) == [21, 22]
    # By number: a number outside the list changes nothing and is asked again.
    await _press(fake, removed, "Remove an image", "Send the number of the image to remove")
    await _say(fake, "99", "There is no image 99: send a number from 1 to 22.")
    again = await _say(fake, "1", "page 1 of 2")
    assert (
        "images 1–20 of 21" in again.text and "Removed image 1 (more00.png)." in fake.log[-2].text
    )
    left = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", WHO))["images"]
    assert [i["id"] for i in left] == [i["id"] for i in images if i not in (images[0], images[21])]

    # Rename: a name breaking the rule is refused in plain words, then a good one.
    await _press(fake, detail, "Rename", "Send the new name")
    await _say(fake, "x" * 101, "A dataset name needs 1 to 100 characters")
    assert (await daemon.get(f"/v1/datasets/{dataset['id']}", WHO))["name"] == "My Cat"
    renamed = await _say(fake, "Kitten", "Renamed to “Kitten”.")
    assert "Dataset #" in renamed.text and "“Kitten”" in renamed.text

    # Tags: too many changes nothing; then three with a repeat and a # are saved as two.
    await _press(fake, renamed, "Tags", "Send the tags")
    many = ", ".join(f"t{i}" for i in range(21))
    await _say(fake, many, "A dataset has at most 20 tags; you sent 21.")
    assert (await daemon.get(f"/v1/datasets/{dataset['id']}", WHO))["tags"] == []
    tagged = await _say(fake, "cat, #portrait, Cat", "Tags saved: cat, portrait.")
    assert "Tags: cat, portrait" in tagged.text

    await _press(fake, tagged, "Description", "Send the new description")
    described = await _say(fake, "My cat, mostly asleep.", "Description saved.")
    assert "Description: My cat, mostly asleep." in described.text
    stored = await daemon.get(f"/v1/datasets/{dataset['id']}", WHO)
    assert (stored["name"], stored["tags"], stored["description"]) == (
        "Kitten",
        ["cat", "portrait"],
        "My cat, mostly asleep.",
    )


async def test_a_question_aside_keeps_the_journey_collecting_images(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    """Renaming the dataset (an answer aiogram waits for in its own state) in the middle of
    /train's image step: once answered, photos are still collected by the journey."""
    fake = fake_telegram
    run_bot(run, _settings(daemon, fake))
    first = await _say(fake, "/train", "Let's make one")
    await _press(fake, first, "New dataset", "Send me a name")
    await _say(fake, "My Cat", "Send images now")
    detail = await _press(
        fake, await _say(fake, "/datasets", "Your datasets:"), "My Cat", "Dataset #"
    )
    await _press(fake, detail, "Rename", "Send the new name")
    await _say(fake, "Kitten", "Renamed to “Kitten”.")
    mark = len(fake.log)
    fake.send_photo(USER, png(7), caption="a cat on a chair")
    assert "now has 1" in (await fake.wait_text("Added 1 image —", after=mark)).text
