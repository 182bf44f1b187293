"""One FLUX.1 LoRA end to end on the tiny FLUX: trained from a Telegram chat through the real
daemon, its queue and a real worker, delivered there; then seen and generated with from
Discord by the same (linked) person."""

import re
from typing import Any

import pytest

from bots.telegram.main import run
from tests.bots.conftest import Daemon, png
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.test_discord import USER as DC_USER
from tests.bots.test_discord import WHO as DC_WHO
from tests.bots.test_discord import _start
from tests.bots.test_telegram import USER, WHO, _files, _press, _say, _settings

DM = DC_USER + 1  # the fake's DM channel of the Discord user


async def _train_on_telegram(fake: FakeTelegram, daemon: Daemon) -> int:
    """/train → a captioned dataset → Tiny FLUX LoRA, fast → the files in the chat; the model."""
    first = await _say(fake, "/train", "Let's make one")
    await _press(fake, first, "New dataset", "Send me a name")
    await _say(fake, "Flux Cat", "Send images now")
    for i in range(1, 5):
        mark = len(fake.log)
        fake.send_photo(USER, png(i), caption=f"a cat, pose {i}")
        ack = await fake.wait_text(f"now has {i}", after=mark)
    trigger = await _press(fake, ack, "Done", "Suggested: fluxcat")
    offerings = await _press(fake, trigger, "Use fluxcat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny FLUX LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "Price:")
    assert "Training: Tiny FLUX LoRA" in summary.text and "preset fast" in summary.text
    mark = len(fake.log)
    await _press(fake, summary, "Confirm", "is queued")
    # A checkpoint's sample, rendered by FluxPipeline with the LoRA of that step.
    sample = await fake.wait_for(lambda s: "Sample of job" in s.text, 240, after=mark)
    assert sample.method == "sendPhoto" and sample.data.startswith(b"\x89PNG")
    done = await fake.wait_text("Your LoRA is ready", timeout=300, after=mark)
    assert "Trigger word: fluxcat" in done.text
    documents = await _files(fake, "sendDocument", done, 1)
    photos = await _files(fake, "sendPhoto", done, 2)
    assert documents[0].filename.endswith(".safetensors") and documents[0].data
    assert photos[0].text.startswith("Loss curve") and photos[1].text.startswith("Samples")
    assert all(p.data.startswith(b"\x89PNG") for p in photos)
    found = re.search(r"model #(\d+)", done.text)
    assert found is not None, done.text
    return int(found[1])


@pytest.mark.slow
async def test_a_flux_lora_trained_on_telegram_generates_on_discord(
    flux_daemon: Daemon, fake_telegram: FakeTelegram, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    tg, dc, daemon = fake_telegram, fake_discord, flux_daemon
    await daemon.grant(WHO, 1000)
    run_bot(run, _settings(daemon, tg))
    model_id = await _train_on_telegram(tg, daemon)
    model = await daemon.get(f"/v1/models/{model_id}", WHO)
    assert model["offering_id"] == "tiny-flux-lora" and model["base_family"] == "tiny"
    roles = {f["role"] for f in model["files"]}
    assert {"lora_kohya", "lora_diffusers", "samples"} <= roles
    job = (await daemon.get("/v1/jobs?kind=train", WHO))["jobs"][0]
    summary = job["status"], job["model_id"]
    assert summary == ("completed", model_id)

    # The same person on Discord (linked): the FLUX LoRA is theirs there too, and generates.
    code = (await daemon.post("/v1/me/link-code", WHO, {}))["code"]
    await daemon.post("/v1/me/link", DC_WHO, {"code": code})
    await _start(dc, daemon, run_bot)
    mark = len(dc.log)
    await dc.slash(DC_USER, "generate")
    models = await dc.wait_text("Which of your LoRAs", after=mark)
    mark = len(dc.log)
    await dc.press(DC_USER, models, f"#{model_id}")
    prompt = await dc.wait_text("Send the prompt", after=mark)
    count = len(dc.modals)
    await dc.press(DC_USER, prompt, "✎")
    await dc.wait_modal(count + 1)
    mark = len(dc.log)
    await dc.submit_modal(DC_USER, "a photo of fluxcat")
    price = await dc.wait_text("Price:", after=mark)
    assert "⚠" not in price.content  # the prompt has the trigger word
    mark = len(dc.log)
    await dc.press(DC_USER, price, "Confirm")
    result = await dc.wait_for(
        lambda s: s.channel_id == DM and s.content.startswith("Generation #"), 180, after=mark
    )
    assert len(result.files) == 2 and all(f[1].startswith(b"\x89PNG") for f in result.files)
    generations = (await daemon.get("/v1/generations", DC_WHO))["generations"]
    assert [(g["model_id"], g["status"]) for g in generations] == [(model_id, "completed")]
