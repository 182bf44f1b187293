"""The Telegram bot's captions, samples, checkpoints and generations, against the real daemon
and its real workers on a fake Bot API server."""

import re
from typing import Any

import pytest

from bots.telegram.main import run
from tests.bots.conftest import Daemon, png
from tests.bots.fakes.telegram import FakeTelegram, Sent
from tests.bots.prepared import OWNER_TG, Prepared
from tests.bots.test_telegram import USER, WHO, _files, _press, _say, _settings


def _price(sent: Sent) -> int:
    found = re.search(r"Price: (\d+) points", sent.text)
    assert found is not None, sent.text
    return int(found[1])


async def _debits(daemon: Daemon, who: str) -> dict[str, list[int]]:
    entries = (await daemon.get("/v1/ledger", who))["entries"]
    debits: dict[str, list[int]] = {}
    for e in entries:
        debits.setdefault(e["kind"], []).append(e["delta"])
    return debits


async def _album(
    fake: FakeTelegram, after: int, timeout: float = 120.0
) -> tuple[list[Sent], Sent]:
    """A generation's media group, and the message with its buttons that follows it."""
    result = await fake.wait_for(
        lambda s: s.method == "sendMessage" and s.text.startswith("Generation #"),
        timeout,
        after=after,
    )
    photos = [
        s
        for s in fake.log[after : fake.log.index(result)]
        if s.method == "sendPhoto" and fake.current(s).get("media_group_id")
    ]
    return photos, result


async def _captions_reviewed(fake: FakeTelegram, daemon: Daemon) -> Sent:
    """A new dataset of four photos (one captioned), captioned automatically, one fixed."""
    first = await _say(fake, "/train", "Let's make one")
    await _press(fake, first, "New dataset", "Send me a name")
    await _say(fake, "My Cat", "Send images now")
    for i in range(1, 5):
        mark = len(fake.log)
        fake.send_photo(USER, png(i), caption="a cat on a sofa" if i == 1 else None)
        ack = await fake.wait_text(f"now has {i}", after=mark)
    offer = await _press(fake, ack, "Done", "3 of your images have no caption")
    price = await _press(fake, offer, "Caption automatically", "Automatic captions")
    assert "Images: 3 without a caption" in price.text and "holds until" in price.text
    mark = len(fake.log)
    await _press(fake, price, "Confirm", "Captioning your images")
    ready = await fake.wait_text("Your captions are ready", timeout=180, after=mark)
    assert ready.text.startswith("Your captions are ready: 3 written.")
    assert "1. a cat on a sofa" in ready.text
    written = re.findall(r"^[234]\. (.+)$", ready.text, re.M)
    assert len(written) == 3 and "—" not in written  # each uncaptioned image has one now
    await _press(fake, ready, "Fix a caption", "Send the number of the caption to fix (1–4)")
    await _say(fake, "9", "Send a number from 1 to 4")
    await _say(fake, "3", f"Caption 3 now reads: {written[1]}")
    fixed = await _say(fake, "a cat, fixed by hand", "Caption 3 fixed.")
    assert "3. a cat, fixed by hand" in fixed.text and f"2. {written[0]}" in fixed.text
    dataset = (await daemon.get("/v1/datasets", WHO))["datasets"][0]
    images = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", WHO))["images"]
    assert [i["caption"] for i in images][2] == "a cat, fixed by hand"
    assert (await _debits(daemon, WHO))["caption_debit"] == [-_price(price)]
    return fixed


@pytest.mark.slow
async def test_journey_from_images_to_lora_and_its_pictures(
    training_daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    """The whole journey: captions written and fixed, a training with its live sample, the LoRA
    files, a saved checkpoint, then Try it: an album, and again with a new seed."""
    fake, daemon = fake_telegram, training_daemon
    await daemon.grant(WHO, 1000)
    run_bot(run, _settings(daemon, fake))
    welcome = await _say(fake, "/start", "Welcome to lorabot")
    assert "Your balance: 1000 points" in welcome.text
    reviewed = await _captions_reviewed(fake, daemon)
    trigger = await _press(fake, reviewed, "Continue", "Suggested: mycat")
    offerings = await _press(fake, trigger, "Use mycat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "Price:")
    assert "Dataset: My Cat (4 images), trigger word: mycat" in summary.text
    assert "Training: Tiny LoRA" in summary.text and "preset fast" in summary.text

    # Flood control hits the first LoRA file: it is sent again after `retry_after`.
    fake.rate_limits["sendDocument"] = [1]
    # A double tap, and an update Telegram delivers twice: one job, one debit.
    mark = len(fake.log)
    fake.press(USER, summary, "Confirm", times=2)
    fake.press(USER, summary, "Confirm")
    paid = await fake.wait_text("is queued", after=mark)
    progress = await fake.wait_for(lambda s: re.match(r"Job #\d+ — ", s.text), after=mark)

    # One photo message for the job's samples: sent once, then its photo replaced.
    sample = await fake.wait_for(lambda s: "Sample of job" in s.text, 240, after=mark)
    edited = await fake.wait_for(
        lambda s: s.method == "editMessageMedia" and s.message_id == sample.message_id,
        240,
        after=mark,
    )
    assert sample.method == "sendPhoto" and edited.data.startswith(b"\x89PNG")
    assert edited.text != sample.text and "Keep this one" in str(edited.markup)
    done = await fake.wait_text("Your LoRA is ready", timeout=300, after=mark)
    assert "Trigger word: mycat" in done.text
    samples = [s for s in fake.log[mark:] if "Sample of job" in s.text]
    assert {s.message_id for s in samples} == {sample.message_id}
    assert [s.method for s in samples].count("sendPhoto") == 1
    documents = await _files(fake, "sendDocument", done, 1)
    photos = await _files(fake, "sendPhoto", done, 2)
    # One LoRA file, the kohya one, named after the model (its alias in A1111 too).
    model_id = re.search(r"model #(\d+)", done.text)
    assert model_id is not None
    model = await daemon.get(f"/v1/models/{model_id[1]}", WHO)
    stem = re.sub(r"[^\w.-]+", "-", model["name"]).strip("-")
    assert [d.filename for d in documents] == [f"{stem}.safetensors"]
    assert b"lora_unet_" in documents[0].data and f'"{stem}"'.encode() in documents[0].data
    assert [method for method, _ in fake.limited] == ["sendDocument"]
    assert documents[0].at - fake.limited[0][1] >= 0.95
    assert photos[0].text.startswith("Loss curve") and photos[1].text.startswith("Samples")
    assert all(p.data.startswith(b"\x89PNG") for p in photos)
    models = await _say(fake, "/models", "trigger mycat")
    later = len(fake.log)
    fake.press(USER, models, "Download")
    await fake.wait_for(lambda s: s.method == "sendPhoto" and "Samples" in s.text, after=later)
    downloaded = [s.data for s in fake.log[later:] if s.method == "sendDocument"]
    assert downloaded == [d.data for d in documents]  # the final files, no checkpoint among them

    trainings = (await daemon.get("/v1/jobs?kind=train", WHO))["jobs"]
    assert len(trainings) == 1 and trainings[0]["status"] == "completed"
    assert f"Job #{trainings[0]['id']}" in paid.text
    progress_messages = [
        s for s in fake.log if s.method == "sendMessage" and re.match(r"Job #\d+ — ", s.text)
    ]
    assert progress_messages == [progress]  # the repeats started no second tracker
    # The progress message was edited in place, never faster than the interval, and ends final.
    final = await fake.wait_for(
        lambda s: s.message_id == progress.message_id and "completed" in s.text, after=mark
    )
    edits = [s for s in fake.log if s.message_id == progress.message_id]
    assert len(edits) >= 3 and edits[-1] is final and "[████████████] 30/30" in final.text
    assert any("training" in e.text and "loss" in e.text and "ETA" in e.text for e in edits)
    gaps = [b.at - a.at for a, b in zip(edits[1:], edits[2:], strict=False)]
    assert all(gap >= 0.45 for gap in gaps), gaps
    assert fake.current(progress).get("reply_markup") is None  # no Cancel once final

    # A saved checkpoint, downloaded by its step.
    steps = await _press(fake, done, "Checkpoints", "Saved checkpoints")
    first_step = re.search(r"Step (\d+)", str(steps.markup))
    assert first_step is not None
    later = len(fake.log)
    fake.press(USER, steps, f"Step {first_step[1]}")
    checkpoint = await fake.wait_text(f"checkpoint of step {first_step[1]}", after=later)
    assert checkpoint.method == "sendDocument" and checkpoint.filename.endswith(".safetensors")
    assert checkpoint.data not in downloaded

    # Try it: the prompt with the trigger word, its price, the album, then a new seed.
    prompt = await _press(fake, done, "Try it", "Suggested: a photo of mycat")
    price = await _press(fake, prompt, "Use the suggestion", "Price:")
    assert "2 image(s)" in price.text and "seed random" in price.text and "⚠" not in price.text
    later = len(fake.log)
    await _press(fake, price, "Confirm", "is queued")
    pictures, result = await _album(fake, later)
    assert len(pictures) == 2 and all(p.data.startswith(b"\x89PNG") for p in pictures)
    assert "“a photo of mycat”" in result.text
    again = await _press(fake, result, "Again with a new seed", "Price:")
    later = len(fake.log)
    await _press(fake, again, "Confirm", "is queued")
    pictures_again, result_again = await _album(fake, later)
    assert len(pictures_again) == 2 and result_again.text != result.text  # another seed

    debits = await _debits(daemon, WHO)
    assert len(debits["training_debit"]) == 1 and len(debits["caption_debit"]) == 1
    assert debits["generation_debit"] == [-_price(again), -_price(price)]
    spent = sum(sum(v) for k, v in debits.items() if k.endswith("_debit"))
    assert (await daemon.get("/v1/me", WHO))["balance"] == 1000 + spent


@pytest.mark.slow
async def test_keep_this_one_from_the_sample_message(
    prepared: Prepared, prepared_daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake, daemon, who = fake_telegram, prepared_daemon, f"telegram:{OWNER_TG}"
    await daemon.grant(who, 1000)
    run_bot(run, _settings(daemon, fake))
    body = {
        "dataset_id": prepared.dataset_id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "overrides": {"steps": 100},  # a checkpoint every 10 steps
        "idempotency_key": "keep-test",
        "reply_to": {"chat_id": OWNER_TG},
    }
    job = await daemon.post("/v1/jobs", who, body)
    first = await fake.wait_for(lambda s: "Sample of job" in s.text, 240)
    second = await fake.wait_for(
        lambda s: s.method == "editMessageMedia" and s.message_id == first.message_id, 240
    )
    step = int(re.findall(r"step (\d+) of 100", second.text)[0])
    mark = len(fake.log)
    fake.press(OWNER_TG, second, "Keep this one")
    refund = job["cost"] * (100 - step) // 100
    kept = await fake.wait_text(f"Kept the checkpoint of step {step}", after=mark)
    assert f"{refund} points were refunded" in kept.text
    done = await fake.wait_text("Your LoRA is ready", timeout=60, after=mark)
    finished = await daemon.get(f"/v1/jobs/{job['id']}", who)
    assert finished["status"] == "completed" and finished["refunded"] == refund
    assert f"model #{finished['model_id']}" in done.text
    model = await daemon.get(f"/v1/models/{finished['model_id']}", who)
    assert model["steps"] == step
    assert (await daemon.get("/v1/me", who))["balance"] == 1000 - job["cost"] + refund

    # Pressed again (the message still shows it): nothing changes, and it says so.
    mark = len(fake.log)
    fake.press(OWNER_TG, second, "Keep this one")
    await fake.wait_text(f"Job #{job['id']} has already finished", after=mark)
    refunds = [
        e for e in (await daemon.get("/v1/ledger", who))["entries"] if e["kind"] == "refund"
    ]
    assert [e["delta"] for e in refunds] == [refund]


async def test_generate_without_enough_points_charges_nothing(
    prepared: Prepared, prepared_rpc_daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake, daemon, who = fake_telegram, prepared_rpc_daemon, f"telegram:{OWNER_TG}"
    run_bot(run, _settings(daemon, fake))
    mark = len(fake.log)
    fake.send_text(OWNER_TG, "/imagine")
    models = await fake.wait_text("Which of your LoRAs", after=mark)
    mark = len(fake.log)
    fake.press(OWNER_TG, models, f"#{prepared.model_id}")
    prompt = await fake.wait_text("Send the prompt", after=mark)
    mark = len(fake.log)
    fake.send_text(OWNER_TG, "a red square on grey")
    price = await fake.wait_text("Price:", after=mark)
    cost = _price(price)
    assert "⚠" in price.text  # the prompt lacks the trigger word
    assert f"You need {cost} more points (balance 0, price {cost})" in price.text
    mark = len(fake.log)
    fake.press(OWNER_TG, price, "Confirm")
    refused = await fake.wait_text("You need", after=mark)
    assert refused.message_id == price.message_id and "/buy" in refused.text
    assert (await daemon.get("/v1/generations", who))["generations"] == []
    assert "generation_debit" not in await _debits(daemon, who)
    assert (await daemon.get("/v1/me", who))["balance"] == 0
    # Leaving a conversation is free too.
    mark = len(fake.log)
    fake.press(OWNER_TG, prompt, "Cancel")
    await fake.wait_text("Nothing was charged", after=mark)
