"""The Discord bot's captions, samples and generations, against the real daemon and its real
workers on a fake Discord (REST and gateway)."""

import json
import re
from typing import Any

import pytest

from tests.bots.conftest import Daemon, png
from tests.bots.fakes.discord import FakeDiscord, Sent
from tests.bots.prepared import OWNER_DC, TRIGGER, Prepared
from tests.bots.test_discord import USER, WHO, _modal, _press, _slash, _start

DM = USER + 1  # the fake's DM channel of USER


def _price(sent: Sent) -> int:
    found = re.search(r"Price: (\d+) points", sent.content)
    assert found is not None, sent.content
    return int(found[1])


async def _result(fake: FakeDiscord, channel: int, after: int, timeout: float = 120.0) -> Sent:
    """A generation's result: one message with its pictures and buttons."""
    return await fake.wait_for(
        lambda s: s.channel_id == channel and s.content.startswith(("Generation #", "Strength")),
        timeout,
        after=after,
    )


async def _two_fields(fake: FakeDiscord, sent: Sent, label: str, values: tuple[str, str]) -> Sent:
    count = len(fake.modals)
    await fake.press(USER, sent, label)
    await fake.wait_modal(count + 1)
    mark = len(fake.log)
    await fake.submit_modal(USER, *values)
    return await fake.wait_for(lambda s: s.how == "callback", after=mark)


@pytest.mark.slow
async def test_caption_train_try_it_and_images(
    training_daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake, daemon = fake_discord, training_daemon
    await daemon.grant(WHO, 1000)
    await _start(fake, daemon, run_bot)
    first = await _slash(fake, "train", "start", "Let's make one")
    asked = await _press(fake, first, "New dataset", "Send me a name")
    await _modal(fake, asked, "Dataset name", "My Cat", "Send images now")
    mark = len(fake.log)
    await fake.post(USER, "a cat on a sofa", [("a.png", png(1))])
    await fake.wait_text("now has 1", after=mark)
    mark = len(fake.log)
    await fake.post(USER, "", [("b.png", png(2)), ("c.png", png(3)), ("d.png", png(4))])
    ack = await fake.wait_text("now has 4", after=mark)
    offer = await _press(fake, ack, "Done", "3 of your images have no caption")
    price = await _press(fake, offer, "Caption automatically", "Automatic captions")
    mark = len(fake.log)
    await _press(fake, price, "Confirm", "Captioning your images")
    ready = await fake.wait_text("Your captions are ready", timeout=180, after=mark)
    assert ready.channel_id == DM and "1. a cat on a sofa" in ready.content

    # The number and the new text in one modal; a number outside the list changes nothing.
    wrong = await _two_fields(fake, ready, "Fix a caption", ("7", "lost"))
    assert wrong.content.startswith("Send a number from 1 to 4")
    fixed = await _two_fields(fake, ready, "Fix a caption", ("2", "a cat, fixed by hand"))
    assert (
        fixed.content.startswith("Caption 2 fixed.") and "2. a cat, fixed by hand" in fixed.content
    )
    dataset = (await daemon.get("/v1/datasets", WHO))["datasets"][0]
    images = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", WHO))["images"]
    assert images[1]["caption"] == "a cat, fixed by hand" and "lost" not in str(images)

    trigger = await _press(fake, fixed, "Continue", "Suggested: mycat")
    offerings = await _press(fake, trigger, "Use mycat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "Price:")
    mark = len(fake.log)
    await fake.press(USER, summary, "Confirm")

    # The samples: one DM message whose attachment is replaced by each new one.
    sample = await fake.wait_for(lambda s: "sample at step" in s.content, 240, after=mark)
    edited = await fake.wait_for(
        lambda s: s.how == "edit" and s.message_id == sample.message_id and s.files,
        240,
        after=mark,
    )
    assert sample.channel_id == DM and edited.files[0][1] != sample.files[0][1]
    current = fake.messages[sample.message_id]
    assert len(current["attachments"]) == 1 and "step" in current["content"]
    done = await fake.wait_text("Your LoRA is ready", timeout=240, after=mark)

    prompt = await _press(fake, done, "Try it", "Suggested: a photo of mycat")
    price = await _modal(fake, prompt, "✎", "a photo of mycat on the moon", "Price:")
    assert '"value": "a photo of mycat"' in json.dumps(fake.modals[-1])  # filled in
    later = len(fake.log)
    await _press(fake, price, "Confirm", "is queued")
    result = await _result(fake, DM, later)
    assert len(result.files) == 2 and all(f[1].startswith(b"\x89PNG") for f in result.files)
    assert "“a photo of mycat on the moon”" in result.content
    entries = (await daemon.get("/v1/ledger", WHO))["entries"]
    assert [e["delta"] for e in entries if e["kind"] == "generation_debit"] == [-_price(price)]
    assert sum(e["kind"] == "caption_debit" for e in entries) == 1


@pytest.mark.slow
async def test_strength_sheet_button(
    prepared: Prepared, prepared_daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake, daemon, who = fake_discord, prepared_daemon, f"discord:{OWNER_DC}"
    await daemon.grant(who, 1000)
    await _start(fake, daemon, run_bot)
    mark = len(fake.log)
    await fake.slash(OWNER_DC, "generate")
    models = await fake.wait_text("Which of your LoRAs", after=mark)
    mark = len(fake.log)
    await fake.press(OWNER_DC, models, f"#{prepared.model_id}")
    prompt = await fake.wait_text("Send the prompt", after=mark)
    count = len(fake.modals)
    await fake.press(OWNER_DC, prompt, "✎")
    await fake.wait_modal(count + 1)
    mark = len(fake.log)
    await fake.submit_modal(OWNER_DC, f"a photo of {TRIGGER}")
    price = await fake.wait_text("Price:", after=mark)
    mark = len(fake.log)
    await fake.press(OWNER_DC, price, "Confirm")
    first = await _result(fake, OWNER_DC + 1, mark)
    assert len(first.files) == 2

    mark = len(fake.log)
    await fake.press(OWNER_DC, first, "Strength sheet")
    sheet_price = await fake.wait_text("Strength sheet: 0 · 0.4 · 0.7 · 1 · 1.2", after=mark)
    mark = len(fake.log)
    await fake.press(OWNER_DC, sheet_price, "Confirm")
    sheet = await _result(fake, OWNER_DC + 1, mark)
    assert sheet.content.startswith("Strength sheet of generation #") and len(sheet.files) == 1
    assert "Strength sheet" not in str(fake.messages[sheet.message_id]["components"])

    generations = (await daemon.get("/v1/generations", who))["generations"]
    assert [g["strengths"] for g in generations] == [[0.0, 0.4, 0.7, 1.0, 1.2], None]
    assert generations[0]["seed"] == generations[1]["seed"]
    assert generations[0]["prompt"] == generations[1]["prompt"] == f"a photo of {TRIGGER}"
    entries = (await daemon.get("/v1/ledger", who))["entries"]
    debits = [e["delta"] for e in entries if e["kind"] == "generation_debit"]
    assert debits == [-_price(sheet_price), -_price(price)]
