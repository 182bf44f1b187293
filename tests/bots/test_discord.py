"""The real Discord bot (discord.py) against a fake REST + gateway server and the real daemon."""

import asyncio
from typing import Any

import pytest

from bots.common.actions import Action
from bots.discord.buttons import ActionButton
from bots.discord.main import run
from tests.bots.care import CARE_ACTIONS
from tests.bots.conftest import Daemon, bot_settings, png
from tests.bots.fakes.discord import CHANNEL_ID, FakeDiscord, Sent
from tests.bots.test_activity import ACTIVITY_ACTIONS
from tests.bots.test_advanced import ADVANCED_ACTIONS
from tests.bots.test_languages import LANGUAGE_ACTIONS
from tests.bots.test_market import MARKET_ACTIONS
from tests.bots.test_media import MEDIA_ACTIONS

USER = 123456789012345678
OTHER = 223456789012345678
WHO = f"discord:{USER}"


async def _start(fake: FakeDiscord, daemon: Daemon, run_bot: Any) -> Any:
    settings = bot_settings(
        daemon,
        discord_token=fake.token,
        discord_api_base=fake.api_base,  # type: ignore[attr-defined]
        discord_gateway=fake.gateway_url,  # type: ignore[attr-defined]
    )
    bot = run_bot(run, settings)
    await asyncio.wait_for(fake.identified.wait(), 30)
    for _ in range(200):  # commands are synced in setup_hook, before the gateway connects
        if fake.commands:
            return bot
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")


async def _slash(fake: FakeDiscord, group: str, sub: str, expect: str, **kw: Any) -> Sent:
    mark = len(fake.log)
    await fake.slash(USER, group, sub, **kw)
    return await fake.wait_text(expect, after=mark)


async def _press(fake: FakeDiscord, sent: Sent, label: str, expect: str) -> Sent:
    mark = len(fake.log)
    await fake.press(USER, sent, label)
    return await fake.wait_text(expect, after=mark)


async def _modal(fake: FakeDiscord, sent: Sent, label: str, value: str, expect: str) -> Sent:
    count = len(fake.modals)
    await fake.press(USER, sent, label)
    await fake.wait_modal(count + 1)
    mark = len(fake.log)
    await fake.submit_modal(USER, value)
    return await fake.wait_text(expect, after=mark)


async def _to_summary(fake: FakeDiscord) -> Sent:
    """From /train start to the price summary: attachments, a follow-up post, a bad file."""
    first = await _slash(fake, "train", "start", "Let's make one")
    asked = await _press(fake, first, "New dataset", "Send me a name")
    await _modal(fake, asked, "Dataset name", "My Cat", "Send images now")
    attachments = {"image1": ("a.png", png(1)), "image2": ("b.png", png(2))}
    ack = await _slash(
        fake,
        "train",
        "upload",
        "now has 2",
        attachments=attachments,
        options={"caption": "a cat"},
    )
    assert "Added 2 images" in ack.content
    mark = len(fake.log)
    await fake.post(USER, "a cat asleep", [("c.png", png(3)), ("d.png", png(4))])
    await fake.wait_text("now has 4", after=mark)
    mark = len(fake.log)
    await fake.post(USER, "", [("notes.txt", b"not a picture")])
    refused = await fake.wait_text("✗ notes.txt:", after=mark)
    # Every image has a caption: no automatic captions are offered.
    trigger = await _press(fake, refused, "Done", "Suggested: mycat")
    offerings = await _press(fake, trigger, "Use mycat", "What should I train?")
    # No SD-1.5 base model here: listed with the reason, never a button.
    assert "Stable Diffusion 1.5 LoRA — its base model is not installed" in offerings.content
    labels = [c.get("label") or "" for row in offerings.components for c in row["components"]]
    assert not any("Stable Diffusion" in label for label in labels)
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    return await _press(fake, presets, "fast", "Price:")


async def _funded_summary(fake: FakeDiscord, daemon: Daemon, run_bot: Any) -> Sent:
    """1000 points granted, the bot started, and a journey up to its price summary."""
    await daemon.grant(WHO, 1000)
    await _start(fake, daemon, run_bot)
    return await _to_summary(fake)


async def _confirm(fake: FakeDiscord, summary: Sent, times: int = 1) -> Sent:
    """Press Confirm on the summary; the job's progress message that follows."""
    mark = len(fake.log)
    await fake.press(USER, summary, "Confirm", times=times)
    return await fake.wait_for(lambda s: s.content.startswith("Job #"), after=mark)


async def test_start_is_private_and_shows_the_balance(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    await daemon.grant(WHO, 250)
    await _start(fake_discord, daemon, run_bot)
    names = {c["name"] for c in fake_discord.commands}
    assert names == {
        "train",
        "generate",
        "datasets",
        "models",
        "jobs",
        "account",
        "explore",
        "earnings",
        "buy",
        "web",
        "stats",
        "spending",
        "activity",
        "language",
    }
    welcome = await _slash(fake_discord, "account", "start", "Welcome to lorabot")
    assert welcome.ephemeral and "Your balance: 250 points" in welcome.content


async def test_foreign_click_is_refused_and_changes_nothing(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    summary = await _funded_summary(fake, daemon, run_bot)
    mark = len(fake.log)
    await fake.press(OTHER, summary, "Confirm")  # anyone can click in a channel
    refusal = await fake.wait_text("someone else's conversation", after=mark)
    assert refusal.ephemeral
    assert [s for s in fake.log[mark:] if s is not refusal] == []
    assert (await daemon.get("/v1/jobs", WHO))["jobs"] == []
    assert (await daemon.get("/v1/me", WHO))["balance"] == 1000


async def test_double_click_confirm_makes_one_job(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    summary = await _funded_summary(fake, daemon, run_bot)
    mark = len(fake.log)
    progress = await _confirm(fake, summary, times=3)
    await fake.wait_text("is queued", after=mark)
    assert progress.how == "channel" and progress.channel_id == CHANNEL_ID
    await asyncio.sleep(0.5)
    jobs = (await daemon.get("/v1/jobs", WHO))["jobs"]
    debits = [
        e
        for e in (await daemon.get("/v1/ledger", WHO))["entries"]
        if e["kind"] == "training_debit"
    ]
    assert len(jobs) == 1 and len(debits) == 1
    assert jobs[0]["reply_to"]["channel_id"] == CHANNEL_ID
    assert sum(s.content.startswith("Job #") and s.how == "channel" for s in fake.log) == 1

    # Its Cancel button refunds, and the progress message ends in the final state.
    mark = len(fake.log)
    await fake.press(USER, progress, "Cancel job")
    cancelled = await fake.wait_text("cancelled;", after=mark)
    assert cancelled.ephemeral and f"{jobs[0]['cost']} points refunded" in cancelled.content
    await fake.wait_for(
        lambda s: s.message_id == progress.message_id and "cancelled" in s.content, after=mark
    )
    assert (await daemon.get("/v1/me", WHO))["balance"] == 1000


async def test_rate_limited_message_still_arrives(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    summary = await _funded_summary(fake, daemon, run_bot)
    fake.rate_limits["POST /channels/{id}/messages"] = [1.0]
    progress = await _confirm(fake, summary)
    assert len(fake.limited) == 1
    assert progress.at - fake.limited[0][1] >= 0.95


async def test_lists_and_dm_fallback_to_the_channel(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    summary = await _funded_summary(fake, daemon, run_bot)
    await _press(fake, summary, "Confirm", "is queued")
    datasets = await _slash(fake, "datasets", "list", "My Cat — 4 images")
    assert datasets.ephemeral
    detail = await _press(fake, datasets, "My Cat", "Dataset #")
    assert "a cat asleep" in detail.content
    recaptioned = await _modal(fake, detail, "✎", "a new caption", "updated")
    assert recaptioned.ephemeral
    jobs = await _slash(fake, "jobs", "list", "queued")
    fake.dm_forbidden.add(USER)  # this person does not accept DMs
    mark = len(fake.log)
    await fake.press(USER, jobs, "Cancel job")
    await fake.wait_text("points refunded", after=mark)
    # The cancel notification goes to the channel the job was started from.
    fallback = await fake.wait_text("were refunded", after=mark)
    assert fallback.channel_id == CHANNEL_ID and fallback.how == "channel"
    balance = await _slash(fake, "account", "balance", "Balance: 1000 points.")
    assert balance.ephemeral and "refund" in balance.content


async def test_every_action_but_download_is_reachable(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each action pressed once (Download needs a trained model: the slow journey presses it;
    the marketplace's in test_market, the captions', generations' and checkpoints' in
    the media tests, Mark all read in test_activity, the advanced settings in
    test_advanced_chat)."""
    fake = fake_discord
    pressed: set[Action] = set()
    press = fake.press

    async def recording(user_id: int, sent: Sent, label_part: str, **kw: Any) -> str:
        custom_id = await press(user_id, sent, label_part, **kw)
        match = ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id)
        if match is not None:  # else the ✎ that opens a modal for a typed answer
            pressed.add(Action(match["action"]))
        return custom_id

    monkeypatch.setattr(fake, "press", recording)
    summary = await _funded_summary(fake, daemon, run_bot)
    await _press(fake, summary, "Cancel", "Nothing was charged")
    first = await _slash(fake, "train", "start", "Which dataset")
    images = await _press(fake, first, "My Cat", "“My Cat” has 4 images")
    mark = len(fake.log)
    await fake.post(USER, "", [("e.png", png(5))])  # one without a caption
    await fake.wait_text("now has 5", after=mark)
    offer = await _press(fake, images, "Done", "1 of your images has no caption")
    price = await _press(fake, offer, "Caption automatically", "Automatic captions")
    trigger = await _press(fake, price, "Skip", "Suggested: mycat")
    # The daemon's rule, checked before calling it: a dot is refused in plain words.
    again = await _modal(fake, trigger, "✎", "my.cat", "without spaces, dots or accents")
    offerings = await _modal(fake, again, "✎", "my_cat", "What should I train?")
    presets = await _press(fake, offerings, "Tiny LoRA", "pick a preset")
    summary = await _press(fake, presets, "fast", "trigger word: my_cat")
    await _press(fake, summary, "Confirm", "is queued")

    datasets = await _slash(fake, "datasets", "list", "My Cat — 5 images")
    detail = await _press(fake, datasets, "My Cat", "Dataset #")
    await _press(fake, detail, "Add images", "Send images now")
    await _modal(fake, detail, "✎", "recaptioned", "updated")
    refused = await _press(fake, detail, "Delete", "That did not work")  # a queued job uses it
    assert refused.ephemeral
    await _press(fake, await _slash(fake, "jobs", "list", "queued"), "Cancel job", "refunded")
    # Discord sells packs through its own premium buttons, not through an action.
    unpressed = {Action.download_model, Action.buy_pack} | MARKET_ACTIONS | MEDIA_ACTIONS
    unpressed |= ACTIVITY_ACTIONS | CARE_ACTIONS | ADVANCED_ACTIONS | LANGUAGE_ACTIONS
    assert pressed == set(Action) - unpressed


async def test_upload_without_a_conversation_says_how_to_start(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    await _start(fake_discord, daemon, run_bot)
    reply = await _slash(
        fake_discord,
        "train",
        "upload",
        "start one with /train",
        attachments={"image1": ("a.png", png(1))},
    )
    # /train upload answers the channel: deferred publicly before anything is known, so its
    # answer — this one too — fills that "thinking…" message, as visible as it (Discord's rule).
    assert not reply.ephemeral and reply.how == "followup"
    assert (await daemon.get("/v1/datasets", WHO))["datasets"] == []
