"""Advanced settings in /train on both platforms: buttons and a typed value on Telegram, one
modal on Discord; the summary's price is the estimate route's, the job gets those values."""

from typing import Any

from tests.bots import test_discord as discord_chat
from tests.bots import test_telegram as telegram_chat
from tests.bots.conftest import Daemon
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.discord_payloads import text_fields
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.test_advanced import price


async def _estimate(daemon: Daemon, who: str, **overrides: int) -> int:
    """The estimate route's cost of the person's tiny `fast` training with `overrides`."""
    dataset_id = (await daemon.get("/v1/datasets", who))["datasets"][0]["id"]
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    answer = await daemon.post("/v1/estimate", who, {**body, "overrides": overrides})
    assert answer["ok"], answer["errors"]
    return int(answer["cost"])


async def _job(daemon: Daemon, who: str) -> dict[str, Any]:
    jobs = (await daemon.get("/v1/jobs", who))["jobs"]
    assert len(jobs) == 1, jobs
    return dict(await daemon.get(f"/v1/jobs/{jobs[0]['id']}", who))


async def test_telegram_two_settings_by_button_and_typed_value(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake, who = fake_telegram, telegram_chat.WHO
    summary = await telegram_chat._funded_summary(daemon, fake, run_bot)
    preset_price = price(summary.text)
    press, say = telegram_chat._press, telegram_chat._say

    menu = await press(fake, summary, "Advanced settings", "Pick a setting to change")
    asked = await press(fake, menu, "Steps: 30", "send a whole number between 1 and 2000")
    changed = await press(fake, asked, "60", "• Steps: 30 → 60")
    assert price(changed.text) == await _estimate(daemon, who, steps=60)

    menu = await press(fake, changed, "Advanced settings", "Steps: 60 (preset 30)")
    await press(fake, menu, "Batch size", "between 1 and 8")
    refused = await say(fake, "9", "Batch size must be between 1 and 8; 9 is not.")
    assert "Nothing was changed." in refused.text and "now 1 (preset 1)" in refused.text
    final = await say(fake, "2", "• Batch size: 1 → 2")
    assert "• Steps: 30 → 60" in final.text
    cost = await _estimate(daemon, who, steps=60, batch_size=2)
    assert price(final.text) == cost and cost > preset_price
    assert "Confirm and pay" in str(fake.current(final)["reply_markup"])

    await press(fake, final, "Confirm", "is queued")
    job = await _job(daemon, who)
    assert job["overrides"] == {"steps": 60, "batch_size": 2} and job["cost"] == cost
    assert (job["params"]["steps"], job["params"]["batch_size"]) == (60, 2)


async def test_telegram_back_to_preset_values(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    summary = await telegram_chat._funded_summary(daemon, fake, run_bot)
    preset_price, press = price(summary.text), telegram_chat._press
    menu = await press(fake, summary, "Advanced settings", "Pick a setting")
    asked = await press(fake, menu, "Resolution", "a whole number between 32 and 128")
    changed = await press(fake, asked, "96", "• Resolution: 64 → 96")
    assert price(changed.text) > preset_price
    back = await press(fake, changed, "Back to preset values", "Price:")
    assert "Changed from" not in back.text and price(back.text) == preset_price
    menu = await press(fake, back, "Advanced settings", "Resolution: 64\n")
    summary_again = await press(fake, menu, "« Summary", "Price:")
    await press(fake, summary_again, "Confirm", "is queued")
    assert (await _job(daemon, telegram_chat.WHO))["overrides"] == {}


async def test_discord_two_settings_in_one_modal(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake, who, user = fake_discord, discord_chat.WHO, discord_chat.USER
    summary = await discord_chat._funded_summary(fake, daemon, run_bot)
    preset_price = price(summary.content)

    async def settings(answers: dict[str, str], expect: str) -> Any:
        count = len(fake.modals)
        await fake.press(user, summary, "Advanced settings")
        modal = await fake.wait_modal(count + 1)
        mark = len(fake.log)
        await fake.fill_modal(user, answers)
        return modal, await fake.wait_text(expect, after=mark)

    modal, refused = await settings({"Steps": "5000"}, "Steps must be between 1 and 2000")
    prefilled = {f["label"]: f["value"] for f in text_fields(modal["components"])}
    assert prefilled == {
        "Steps (1–2000)": "30",
        "Rank (1–32)": "4",
        "Learning rate (1e-6–0.01)": "0.001",
        "Resolution (32–128)": "64",
        "Batch size (1–8)": "1",
    }
    assert "Nothing was changed." in refused.content

    modal, changed = await settings({"Steps": "60", "Resolution": "96"}, "• Steps: 30 → 60")
    # Nothing was changed by the refused form: it opens with the preset's values again.
    assert [f["value"] for f in text_fields(modal["components"])][0] == "30"
    assert "• Resolution: 64 → 96" in changed.content
    cost = await _estimate(daemon, who, steps=60, resolution=96)
    assert price(changed.content) == cost and cost > preset_price

    await discord_chat._confirm(fake, changed)
    job = await _job(daemon, who)
    assert job["overrides"] == {"steps": 60, "resolution": 96} and job["cost"] == cost
    assert (job["params"]["steps"], job["params"]["resolution"]) == (60, 96)
