"""The real Telegram bot (aiogram) against a fake Bot API server and the real daemon."""

import asyncio
from typing import Any

import pytest

from bots.common.actions import Action
from bots.telegram.callbacks import ActionCb
from bots.telegram.main import run
from tests.bots.care import CARE_ACTIONS
from tests.bots.conftest import Daemon, bot_settings, png
from tests.bots.fakes.telegram import FakeTelegram, Sent
from tests.bots.test_activity import ACTIVITY_ACTIONS
from tests.bots.test_advanced import ADVANCED_ACTIONS
from tests.bots.test_languages import LANGUAGE_ACTIONS
from tests.bots.test_market import MARKET_ACTIONS
from tests.bots.test_media import MEDIA_ACTIONS

USER = 777
WHO = f"telegram:{USER}"


def _settings(daemon: Daemon, fake: FakeTelegram) -> Any:
    return bot_settings(
        daemon,
        telegram_token=fake.token,
        telegram_api_base=fake.base_url,  # type: ignore[attr-defined]
    )


async def _say(fake: FakeTelegram, text: str, expect: str, timeout: float = 30.0) -> Sent:
    mark = len(fake.log)
    fake.send_text(USER, text)
    return await fake.wait_text(expect, timeout, after=mark)


async def _press(fake: FakeTelegram, sent: Sent, label: str, expect: str, **kw: Any) -> Sent:
    mark = len(fake.log)
    fake.press(USER, sent, label, **kw)
    return await fake.wait_text(expect, after=mark)


async def _to_summary(fake: FakeTelegram) -> Sent:
    """From /train to the price summary, uploading 4 good images and one bad file."""
    first = await _say(fake, "/train", "Let's make one")
    await _press(fake, first, "New dataset", "Send me a name")
    await _say(fake, "My Cat", "Send images now")
    mark = len(fake.log)
    fake.send_photo(USER, png(1), caption="a cat on a sofa", album="alb1")
    fake.send_photo(USER, png(2), album="alb1")
    album_ack = await fake.wait_text("Added 2 images", after=mark)
    assert "now has 2" in album_ack.text  # one acknowledgement for the whole album
    mark = len(fake.log)
    fake.send_photo(USER, png(3), caption="a cat asleep")
    await fake.wait_text("now has 3", after=mark)
    mark = len(fake.log)
    fake.send_document(USER, png(4, size=96), "full-quality.png", "image/png")
    await fake.wait_text("now has 4", after=mark)
    mark = len(fake.log)
    fake.send_document(USER, b"just some notes", "notes.txt", "text/plain")
    refused = await fake.wait_text("✗ notes.txt:", after=mark)
    assert "Added 0 images" in refused.text and "now has 4" in refused.text
    # Two images have no caption: automatic captions are offered first, and skipped here.
    offer = await _press(fake, refused, "Done", "2 of your images have no caption")
    trigger = await _press(fake, offer, "Skip", "Suggested: mycat")
    offerings = await _press(fake, trigger, "Use mycat", "What should I train?")
    # No SD-1.5 base model here: listed with the reason, never a button.
    assert "Stable Diffusion 1.5 LoRA — its base model is not installed" in offerings.text
    rows = (offerings.markup or {}).get("inline_keyboard", [])
    assert not any("Stable Diffusion" in b["text"] for row in rows for b in row)
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    return await _press(fake, presets, "fast", "Price:")


async def _funded_summary(daemon: Daemon, fake: FakeTelegram, run_bot: Any) -> Sent:
    """1000 points granted, the bot started, and a journey up to its price summary."""
    await daemon.grant(WHO, 1000)
    run_bot(run, _settings(daemon, fake))
    return await _to_summary(fake)


async def _answered(fake: FakeTelegram, needle: str) -> None:
    """Wait until a callback query is answered with a text containing `needle`."""
    for _ in range(100):
        if any(needle in (a.get("text") or "") for a in fake.answers):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer with {needle!r}: {fake.answers}")


async def _files(fake: FakeTelegram, method: str, after: Sent, count: int) -> list[Sent]:
    index = fake.log.index(after)
    for _ in range(200):
        found = [s for s in fake.log[index:] if s.method == method]
        if len(found) >= count:
            return found[:count]
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} {method}, got {len(found)}")


async def test_foreign_button_press_is_refused(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    summary = await _funded_summary(daemon, fake, run_bot)
    mark = len(fake.log)
    fake.press(4242, summary, "Confirm")  # someone else presses it
    await _answered(fake, "someone else")
    assert fake.log[mark:] == []  # nothing was sent or edited
    assert (await daemon.get("/v1/jobs", WHO))["jobs"] == []
    # The owner can still confirm: the conversation was not disturbed.
    await _press(fake, summary, "Confirm", "is queued")
    assert len((await daemon.get("/v1/jobs", WHO))["jobs"]) == 1


async def test_stale_button_is_answered_politely(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run, _settings(daemon, fake))
    old = await _say(fake, "/train", "Let's make one")
    await _say(fake, "/train", "Let's make one")  # a new conversation replaces the old one
    mark = len(fake.log)
    fake.press(USER, old, "New dataset")
    await _answered(fake, "older conversation")
    assert fake.log[mark:] == []


async def test_429_is_waited_out(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    fake.rate_limits["sendMessage"] = [1]
    run_bot(run, _settings(daemon, fake))
    mark = len(fake.log)
    fake.send_text(USER, "/help")
    sent = await fake.wait_text("What I can do", after=mark)
    assert len(fake.limited) == 1 and fake.limited[0][0] == "sendMessage"
    assert sent.at - fake.limited[0][1] >= 0.95  # sent again only after retry_after


async def test_images_outside_the_journey_are_not_uploaded(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run, _settings(daemon, fake))
    mark = len(fake.log)
    fake.send_photo(USER, png(9))
    await fake.wait_text("start one with /train", after=mark)
    assert (await daemon.get("/v1/datasets", WHO))["datasets"] == []


async def test_lists_captions_cancel_balance_and_link(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    summary = await _funded_summary(daemon, fake, run_bot)
    await _press(fake, summary, "Confirm", "is queued")

    datasets = await _say(fake, "/datasets", "Your datasets:")
    assert "My Cat — 4 images, trigger mycat" in datasets.text
    detail = await _press(fake, datasets, "My Cat", "Dataset #")
    assert "a cat on a sofa" in detail.text
    image_id = detail.text.split("\n#")[1].split(" ")[0]
    await _press(fake, detail, f"✎ #{image_id}", "Send the new caption")
    await _say(fake, "a cat, recaptioned", f"Caption of image #{image_id} updated")
    images = await daemon.get(
        f"/v1/datasets/{detail.text.split('#')[1].split(' ')[0]}/images", WHO
    )
    assert "a cat, recaptioned" in [i["caption"] for i in images["images"]]
    refused = await _press(fake, detail, "Delete", "That did not work")  # a queued job uses it
    assert "My Cat" in (await _say(fake, "/datasets", "Your datasets:")).text
    assert refused.text

    jobs = await _say(fake, "/jobs", "queued")
    cancelled = await _press(fake, jobs, "Cancel job", "points refunded")
    assert "cancelled" in cancelled.text
    balance = await _say(fake, "/balance", "Balance: 1000 points.")
    assert "training_debit" in balance.text and "refund" in balance.text
    assert "No trained models yet" in (await _say(fake, "/models", "No trained")).text

    assert "Your link code:" in (await _say(fake, "/link", "/link ")).text
    # The same person on Discord issues a code; redeeming it here joins both accounts.
    code = (await daemon.post("/v1/me/link-code", "discord:31337", {}))["code"]
    linked = await _say(fake, f"/link {code}", "Linked!")
    assert "balance 1000 points" in linked.text


async def test_every_action_but_download_is_reachable(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each action pressed once (Download needs a trained model: the slow journey presses it;
    the marketplace's in test_market, the captions', generations' and checkpoints' in
    the media tests, Mark all read in test_activity, the advanced settings in
    test_advanced_chat)."""
    fake = fake_telegram
    pressed: set[Action] = set()
    press = fake.press

    def recording(user_id: int, sent: Sent, label_part: str, **kw: Any) -> str:
        data = press(user_id, sent, label_part, **kw)
        pressed.add(ActionCb.unpack(data).action)
        return data

    monkeypatch.setattr(fake, "press", recording)
    summary = await _funded_summary(daemon, fake, run_bot)
    await _press(fake, summary, "Cancel", "Nothing was charged")
    first = await _say(fake, "/train", "Which dataset")
    images = await _press(fake, first, "My Cat", "“My Cat” has 4 images")
    offer = await _press(fake, images, "Done", "have no caption")
    price = await _press(fake, offer, "Caption automatically", "Automatic captions")
    await _press(fake, price, "Skip", "Suggested: mycat")
    # The daemon's rule, checked before calling it: a dot is refused in plain words.
    await _say(fake, "my.cat", "without spaces, dots or accents, e.g. mycat")
    offerings = await _say(fake, "my_cat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "trigger word: my_cat")
    await _press(fake, summary, "Confirm", "is queued")

    detail = await _press(fake, await _say(fake, "/datasets", "Your datasets:"), "My", "Dataset #")
    await _press(fake, detail, "Add images", "Send images now")
    await _press(fake, detail, "✎ #", "Send the new caption")
    await _say(fake, "recaptioned", "updated")
    await _press(fake, detail, "Delete", "That did not work")  # a queued job uses it
    await _press(fake, await _say(fake, "/jobs", "queued"), "Cancel job", "points refunded")
    fake.press(USER, await _say(fake, "/buy", "Buy points"), "500 points")
    assert (await fake.wait_invoice()).payload.startswith("purchase:")
    elsewhere = (
        MARKET_ACTIONS
        | MEDIA_ACTIONS
        | ACTIVITY_ACTIONS
        | CARE_ACTIONS
        | ADVANCED_ACTIONS
        | LANGUAGE_ACTIONS
    )
    assert pressed == set(Action) - {Action.download_model} - elsewhere


async def test_result_arrives_once_after_a_restart_before_delivery(
    training_daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    await training_daemon.grant(WHO, 1000)
    bot = run_bot(run, _settings(training_daemon, fake))
    summary = await _to_summary(fake)
    await _press(fake, summary, "Confirm", "is queued")
    await bot.stop()  # down while the job trains and completes
    await training_daemon.wait_completed(WHO)
    assert not any("Your LoRA is ready" in s.text for s in fake.log)

    mark = len(fake.log)
    bot = run_bot(run, _settings(training_daemon, fake))  # back: the result still arrives
    done = await fake.wait_text("Your LoRA is ready", timeout=60, after=mark)
    assert done.chat_id == USER and "Trigger word: mycat" in done.text
    assert len(await _files(fake, "sendDocument", done, 1)) == 1  # the one kohya file
    assert len(await _files(fake, "sendPhoto", done, 2)) == 2
    await bot.stop()  # acknowledged, so a further restart sends nothing again
    run_bot(run, _settings(training_daemon, fake))
    await _say(fake, "/help", "What I can do")
    await asyncio.sleep(4.0)  # longer than the daemon's notification lease in these tests
    assert sum("Your LoRA is ready" in s.text for s in fake.log) == 1
