"""The Discord bot's captions, samples and generations, against the real daemon and its real
workers on a fake Discord (REST and gateway)."""

import asyncio
import json
import re
from typing import Any

import pytest

from tests.bots.conftest import Daemon, png
from tests.bots.fakes.discord import FakeDiscord, Sent
from tests.bots.prepared import OWNER_DC, TRIGGER, Prepared
from tests.bots.test_discord import USER, WHO, _confirm, _modal, _press, _slash, _start

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
    # The modal's answer is deferred (the daemon is asked next): the list follows it.
    return await fake.wait_for(lambda s: s.how == "followup", after=mark)


async def _captions_reviewed(fake: FakeDiscord, daemon: Daemon) -> Sent:
    """A new dataset of four images (one captioned), captioned automatically, one fixed."""
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
    assert fixed.content.startswith("Caption 2 fixed.")
    assert "2. a cat, fixed by hand" in fixed.content
    dataset = (await daemon.get("/v1/datasets", WHO))["datasets"][0]
    images = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", WHO))["images"]
    assert images[1]["caption"] == "a cat, fixed by hand" and "lost" not in str(images)
    return fixed


@pytest.mark.slow
async def test_journey_with_a_restart_before_delivery(
    training_daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    """The whole journey: captions, a training whose results (and samples) arrive after a
    restart, then Try it on the message from before the restart: the pictures."""
    fake, daemon = fake_discord, training_daemon
    await daemon.grant(WHO, 1000)
    bot = await _start(fake, daemon, run_bot)
    welcome = await _slash(fake, "account", "start", "Welcome to lorabot")
    assert "Your balance: 1000 points" in welcome.content
    reviewed = await _captions_reviewed(fake, daemon)
    trigger = await _press(fake, reviewed, "Continue", "Suggested: mycat")
    offerings = await _press(fake, trigger, "Use mycat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "Price:")
    assert "Dataset: My Cat (4 images), trigger word: mycat" in summary.content
    mark = len(fake.log)
    progress = await _confirm(fake, summary)
    # Live progress: the message is edited in place with a bar, steps and loss.
    await fake.wait_for(
        lambda s: (
            s.message_id == progress.message_id
            and "training" in s.content
            and "loss" in s.content
            and "█" in s.content
        ),
        timeout=240,
        after=mark,
    )
    await bot.stop()  # down while the job completes
    await daemon.wait_completed(WHO)
    assert not any("Your LoRA is ready" in s.content for s in fake.log)

    mark = len(fake.log)
    bot = await _start(fake, daemon, run_bot)  # restarted: the result still arrives
    done = await fake.wait_text("Your LoRA is ready", timeout=60, after=mark)
    assert done.channel_id == DM and "Trigger word: mycat" in done.content
    await fake.wait_text("Samples of model", after=mark)
    # The samples that waited: one DM message, its attachment replaced by each newer one.
    samples = [s for s in fake.log[mark:] if "Sample of job" in s.content]
    assert [s.how for s in samples][:2] == ["channel", "edit"]
    assert {s.message_id for s in samples} == {samples[0].message_id}
    assert samples[1].files and samples[1].files[0][1] != samples[0].files[0][1]
    assert len(fake.messages[samples[0].message_id]["attachments"]) == 1
    sent = [
        s
        for s in fake.log[mark:]
        if s.channel_id == DM and s.files and "Sample of job" not in s.content
    ]
    assert [s.files[0][0].endswith(".safetensors") for s in sent] == [True, False, False]
    assert re.fullmatch(r"My-Cat-tiny-lora-\d+\.safetensors", sent[0].files[0][0])
    assert b"lora_unet_" in sent[0].files[0][1]  # the kohya file, the one every tool loads
    assert sent[1].content.startswith("Loss curve") and sent[2].content.startswith("Samples")
    assert all(s.files[0][1].startswith(b"\x89PNG") for s in sent[1:])
    models = await _slash(fake, "models", "list", "trigger mycat")
    later = len(fake.log)
    await fake.press(USER, models, "Download")
    await fake.wait_for(lambda s: s.how == "followup" and "Samples" in s.content, after=later)
    downloaded = [s.files[0][1] for s in fake.log[later:] if s.how == "followup" and s.files]
    assert downloaded[:1] == [sent[0].files[0][1]]  # the same LoRA file

    await bot.stop()  # and once more: it was acknowledged, so nothing comes twice
    await _start(fake, daemon, run_bot)
    await _slash(fake, "account", "help", "What I can do")
    await asyncio.sleep(4.0)  # longer than the daemon's notification lease in these tests
    assert sum("Your LoRA is ready" in s.content for s in fake.log) == 1

    # Try it, on the message from before the restart: the prompt filled in, then the album.
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
    assert sum(e["kind"] == "training_debit" for e in entries) == 1


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
