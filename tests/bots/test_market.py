"""/explore, publishing and /earnings: the common flows on the real daemon, then both real bots
on their fake platforms (A publishes on Telegram, B finds it and trains on it on Discord)."""

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from bots.common import library, market, market_texts, publishing, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.dispatch import Outcome, Press, dispatch
from bots.common.errors import NotFoundError
from bots.common.market import Listing
from bots.common.publishing import Publication
from bots.common.schemas import Actor, Upload
from bots.common.screens import Button, Screen, StaleAction
from bots.common.train import TrainState, TrainStep
from bots.discord.buttons import ActionButton
from bots.discord.main import run as run_discord
from bots.telegram.callbacks import ActionCb, packer
from bots.telegram.main import run as run_telegram
from core.db.models import Job
from core.enums import BrowseSort, ItemKind, Licence, Visibility
from core.models_registry import blob_prefix, register_model, store_files
from daemon.app import create_app
from daemon.keys import BLOBS, ECONOMY, SESSIONMAKER
from tests.bots.conftest import Daemon, bot_settings, png
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.fakes.telegram import FakeTelegram
from tests.conftest import RPC_TOKEN

# Telegram ids pass 10 digits, Discord snowflakes are 19 (as in test_actions).
TELEGRAM_OWNER, DISCORD_OWNER = 9_999_999_999_999, 1_234_567_890_123_456_789
MARKET_ACTIONS = {Action.explore, Action.open_listed, Action.train_on, Action.publish}

ann = Actor(platform="telegram", user_id="601")
ben = Actor(platform="discord", user_id="602")


def _button(screen: Screen, label: str) -> Button:
    """The screen's button whose label contains `label`."""
    found = [b for b in screen.buttons if str(label) in b.label]
    assert found, f"no button with {label!r} in {[b.label for b in screen.buttons]}"
    return found[0]


async def _press(
    rpc: DaemonClient, who: Actor, button: Button, journey: TrainState | None = None
) -> Outcome:
    token = journey.token if journey is not None else ""
    return await dispatch(rpc, Press(button.action, button.arg, token, who, journey))


async def _screen(rpc: DaemonClient, who: Actor, screen: Screen, label: str) -> Screen:
    """Press a button of a screen that is not a journey's; the screen it leads to."""
    outcome = await _press(rpc, who, _button(screen, label))
    assert outcome.screen is not None
    return outcome.screen


async def _dataset(rpc: DaemonClient, who: Actor, name: str, tags: list[str], seed: int) -> int:
    """A dataset of four pictures with a trigger word, a description and tags."""
    made = await rpc.create_dataset(who, name, trigger_word=name.split()[0].lower())
    uploads = [Upload(f"{i}.png", png(seed + i)) for i in range(4)]
    assert len((await rpc.upload_images(who, made.id, uploads)).added) == 4
    await rpc.update_dataset(who, made.id, tags=tags, description=f"{name}, four pictures")
    return made.id


async def _publish(
    rpc: DaemonClient, who: Actor, kind: ItemKind, item_id: int, *labels: str
) -> Screen:
    """Press Publish, then the buttons labelled `labels` in turn; the last screen."""
    first = await _press(rpc, who, publishing.publish_button(kind, item_id))
    assert first.screen is not None and str(market_texts.ASK_VISIBILITY) in first.screen.text
    screen = first.screen
    for label in labels:
        screen = await _screen(rpc, who, screen, label)
    return screen


async def _model(
    daemon: Daemon, rpc: DaemonClient, who: Actor, dataset_id: int, folder: Path
) -> int:
    """A trained model of `who`, registered as the worker would (with a sample image)."""
    await daemon.grant(who.header, 1000)
    job, _ = await rpc.submit_job(
        who,
        dataset_id=dataset_id,
        offering_id="tiny-lora",
        preset="fast",
        idempotency_key=uuid.uuid4().hex,
    )
    (folder / "samples.png").write_bytes(png(99, size=96))
    (folder / "lora.safetensors").write_bytes(b"lora weights of job %d" % job.id)
    files = {"samples": folder / "samples.png", "lora_kohya": folder / "lora.safetensors"}
    prefix = blob_prefix(job.id, 1)
    stored = await store_files(daemon.app[BLOBS], prefix, dict(files))
    async with daemon.app[SESSIONMAKER].begin() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        model = await register_model(session, row, prefix=prefix, files=stored, summary={})
        return model.id


# -- the button arguments ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "listing",
    [
        Listing(ItemKind.dataset),
        Listing(ItemKind.model, "my cat", "portrait", BrowseSort.most_used, 12),
        Listing(ItemKind.dataset, "a:b~c%d " * 8, "t" * 32),
        Listing(ItemKind.model, "ünïcödé кот 猫" * 4, "ßtag"),
    ],
)
def test_a_listing_fits_both_platforms_buttons_and_comes_back(listing: Listing) -> None:
    fitted = listing.fitted()
    assert listing.query.startswith(fitted.query) and listing.tag.startswith(fitted.tag)
    for page in (fitted.page, 9999):
        arg = Listing(fitted.kind, fitted.query, fitted.tag, fitted.sort, page).pack()
        assert Listing.unpack(arg) == Listing(
            fitted.kind, fitted.query, fitted.tag, fitted.sort, page
        )
        data = packer(TELEGRAM_OWNER)(Button("x", Action.explore, arg))
        assert len(data.encode()) <= 64 and ActionCb.unpack(data).arg == arg
        custom_id = ActionButton(Action.explore, DISCORD_OWNER, "", arg).item.custom_id or ""
        match = ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id)
        assert len(custom_id) <= 100 and match is not None and match["arg"] == arg


def test_a_short_search_is_kept_whole() -> None:
    assert Listing(ItemKind.dataset, "sunset cats", "cats").fitted().query == "sunset cats"
    assert market.parse_search("  sunset  #cats   cats ") == ("sunset cats", "cats")


@pytest.mark.parametrize(
    "publication",
    [
        Publication(ItemKind.dataset, 12),
        Publication(ItemKind.dataset, 2_147_483_647, Visibility.private),
        Publication(ItemKind.model, 2_147_483_647, Visibility.unlisted, Licence.openrail_m, 1000),
    ],
)
def test_a_publication_comes_back_from_its_button(publication: Publication) -> None:
    arg = publication.pack()
    assert Publication.unpack(arg) == publication
    assert len(packer(TELEGRAM_OWNER)(Button("x", Action.publish, arg)).encode()) <= 64


@pytest.mark.parametrize(
    "arg", ["", "x12", "d", "d12.zz", "m1.pu.CC0", "m1.pu.cc0.-1", "d1.pu.cc0.1.2"]
)
def test_arguments_this_bot_did_not_make_are_stale(arg: str) -> None:
    with pytest.raises(StaleAction):
        Publication.unpack(arg)
    with pytest.raises(StaleAction):
        Listing.unpack(arg)


# -- the common flows on the real daemon -------------------------------------------------------
async def test_publish_browse_and_train_on_anothers_dataset(
    daemon: Daemon, rpc: DaemonClient
) -> None:
    await daemon.grant(ben.header, 1000)
    public = await _dataset(rpc, ann, "Sunset cats", ["cats", "sunset"], seed=10)
    unlisted = await _dataset(rpc, ann, "Sunset dogs", ["dogs", "sunset"], seed=20)
    private = await _dataset(rpc, ann, "Sunset birds", ["birds", "sunset"], seed=30)

    # Ann's dataset screen has Publish; it asks visibility, then a licence, then says so.
    detail = await library.dataset(rpc, ann, public)
    assert _button(detail, market_texts.BTN_PUBLISH).arg == f"d{public}"
    done = await _publish(rpc, ann, ItemKind.dataset, public, "Public", "CC-BY-4.0")
    assert done.text.startswith(
        f"Done. Dataset #{public} “Sunset cats” is public under CC-BY-4.0."
    )
    assert "find it with /explore" in done.text
    shown = await _publish(rpc, ann, ItemKind.dataset, unlisted, "Unlisted", "CC0-1.0")
    assert f"its id (#{unlisted})" in shown.text and "not listed" in shown.text
    stored = await rpc.dataset(ann, public)
    assert (stored.visibility, stored.licence) == (Visibility.public, Licence.cc_by)

    # Ben searches: only the public one shows, whatever the search, order or tag.
    chosen = market.choose("sunset")
    assert chosen.text == "What would you like to browse?\nSearch: “sunset”"
    page = await _screen(rpc, ben, chosen, "Datasets")
    assert (
        "(1 found)" in page.text and "1. Sunset cats — 4 images · 0 uses · CC-BY-4.0" in page.text
    )
    assert "dogs" not in page.text and "birds" not in page.text
    for listing in (
        Listing(ItemKind.dataset),
        Listing(ItemKind.dataset, sort=BrowseSort.most_used),
        Listing(ItemKind.dataset, tag="dogs"),
        Listing(ItemKind.dataset, tag="birds"),
    ):
        text = (await market.listing(rpc, ben, listing)).text
        assert "Sunset dogs" not in text and "Sunset birds" not in text
    by_tag = await _screen(rpc, ben, page, "#cats")
    assert "tag #cats" in by_tag.text and "Sunset cats" in by_tag.text
    cleared = await _screen(rpc, ben, by_tag, market_texts.BTN_CLEAR_SEARCH)
    assert "Search:" not in cleared.text and "(1 found)" in cleared.text

    card = (await _press(rpc, ben, _button(page, "Sunset cats"))).screen
    assert card is not None and card.text.startswith(f"Dataset #{public} “Sunset cats”\n")
    for part in ("Trigger word: sunset", "Sunset cats, four pictures", "#cats #sunset"):
        assert part in card.text
    assert "Images: 4 · Licence: CC-BY-4.0 · Uses: 0" in card.text

    # Train on this: the journey opens at the trainings (the images are Ann's) up to a price.
    opened = await _press(rpc, ben, _button(card, market_texts.BTN_TRAIN_ON))
    journey = opened.journey
    assert journey is not None and journey.step is TrainStep.offering
    assert journey.dataset_id == public and journey.trigger_word == "sunset"
    assert opened.screen is not None
    presets = await _press(rpc, ben, _button(opened.screen, "Tiny LoRA"), journey)
    assert presets.screen is not None
    summary = await _press(rpc, ben, _button(presets.screen, "fast"), journey)
    assert summary.screen is not None and "Dataset: Sunset cats (4 images)" in summary.screen.text
    assert "Price:" in summary.screen.text and journey.step is TrainStep.summary

    confirmed = await _press(rpc, ben, _button(summary.screen, "Confirm"), journey)
    assert confirmed.job is not None and confirmed.job.cost > 0

    # The unlisted one is usable by id; the private one answers as a missing one would.
    assert (await rpc.dataset(ben, unlisted)).name == "Sunset dogs"
    with pytest.raises(NotFoundError):
        await rpc.dataset(ben, private)
    # Ann earned the royalty of Ben's paid use; the card counts the use.
    royalty = daemon.app[ECONOMY].market.royalty(confirmed.job.cost)
    earnings = (await publishing.earnings(rpc, ann)).text
    assert earnings.startswith(str(market_texts.EARNINGS_HEADER))
    assert f"Dataset #{public} “Sunset cats” (public) — 1 uses, {royalty} points" in earnings
    assert f"Dataset #{unlisted} “Sunset dogs” (unlisted) — 0 uses, 0 points" in earnings
    assert "Sunset birds" not in earnings
    assert earnings.endswith(f"Total earned: {royalty} points.")
    assert "Uses: 1" in (await _screen(rpc, ben, page, "Sunset cats")).text
    # Ben has published nothing.
    assert (await publishing.earnings(rpc, ben)).text == market_texts.NO_EARNINGS


async def test_a_published_lora_shows_its_samples_and_downloads(
    daemon: Daemon, rpc: DaemonClient, tmp_path: Path
) -> None:
    dataset_id = await _dataset(rpc, ann, "Foxes", ["fox"], seed=40)
    model_id = await _model(daemon, rpc, ann, dataset_id, tmp_path)
    models = await library.models(rpc, ann)
    assert [b.label for b in models.rows[0]] == [f"Download #{model_id}", f"Publish #{model_id}"]
    asked = await _publish(rpc, ann, ItemKind.model, model_id, "Public", "OpenRAIL-M")
    assert asked.text == market_texts.ASK_PRICE and _button(asked, "Free").arg.endswith(".0")
    done = await _screen(rpc, ann, asked, "25 points")
    assert f"LoRA #{model_id}" in done.text
    assert "is public under OpenRAIL-M, 25 points per use." in done.text

    page = await market.listing(rpc, ben, Listing(ItemKind.model, "fox"))
    assert "· 25 points per use · 0 uses" in page.text
    opened = await _press(rpc, ben, _button(page, "1. Foxes"))
    assert opened.screen is not None and opened.files is not None
    card = opened.screen.text
    for part in ("Trigger word: foxes", "Base: tiny", "Licence: OpenRAIL-M", "25 points"):
        assert part in card
    samples = await opened.files()
    assert [(s.kind, s.filename, s.data) for s in samples] == [
        ("photo", "samples.png", png(99, size=96))
    ]
    download = await _press(rpc, ben, _button(opened.screen, texts.BTN_DOWNLOAD))
    assert download.files is not None
    files = {m.filename: m.data for m in await download.files()}
    ((name, weights),) = [(n, data) for n, data in files.items() if n.endswith(".safetensors")]
    assert re.fullmatch(r"Foxes-tiny-lora-\d+\.safetensors", name)  # named after the model
    assert weights.startswith(b"lora weights of job")

    # Private again: gone from the marketplace, and Ben's card button finds nothing.
    await _publish(rpc, ann, ItemKind.model, model_id, "Private")
    assert "(0 found)" in (await market.listing(rpc, ben, Listing(ItemKind.model))).text
    with pytest.raises(NotFoundError):
        await _press(rpc, ben, _button(page, "1. Foxes"))


async def test_the_operators_price_bounds_are_said_in_plain_words(
    make_settings: Any, aiohttp_server: Any, tmp_path: Path
) -> None:
    economy = tmp_path / "economy.toml"
    economy.write_text("[market]\nmin_price_per_use = 1\nmax_price_per_use = 20\n")
    server = await aiohttp_server(
        create_app(make_settings(economy_file=economy)), host="127.0.0.1"
    )
    daemon = Daemon(str(server.make_url("")).rstrip("/"), server.app)
    async with DaemonClient(daemon.url, RPC_TOKEN, attempts=2, backoff=0.05) as rpc:
        dataset_id = await _dataset(rpc, ann, "Owls", [], seed=50)
        model_id = await _model(daemon, rpc, ann, dataset_id, tmp_path)
        asked = await _publish(rpc, ann, ItemKind.model, model_id, "Unlisted", "CC0-1.0")
        refused = await _screen(rpc, ann, asked, "25 points")
        assert refused.text == (
            "That price is not allowed here (from 1 to 20 points). Choose another one."
        )
        assert (await rpc.model(ann, model_id)).visibility is Visibility.private
        again = await _screen(rpc, ann, refused, market_texts.BTN_PUBLISH)
        assert again.text == market_texts.ASK_PRICE
        done = await _screen(rpc, ann, again, "10 points")
        assert "is unlisted under CC0-1.0, 10 points per use." in done.text


# -- both bots ------------------------------------------------------------------------------
ANN_TG = 777
BEN_DC = 123456789012345678


async def test_published_on_telegram_found_and_trained_on_from_discord(
    daemon: Daemon,
    rpc: DaemonClient,
    fake_telegram: FakeTelegram,
    fake_discord: FakeDiscord,
    run_bot: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    tg, dc = fake_telegram, fake_discord
    pressed: set[Action] = set()
    tg_press, dc_press = tg.press, dc.press

    def tg_recording(user_id: int, sent: Any, label: str, **kw: Any) -> str:
        data = tg_press(user_id, sent, label, **kw)
        pressed.add(ActionCb.unpack(data).action)
        return data

    async def dc_recording(user_id: int, sent: Any, label: str, **kw: Any) -> str:
        custom_id = await dc_press(user_id, sent, label, **kw)
        match = ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id)
        assert match is not None
        pressed.add(Action(match["action"]))
        return custom_id

    monkeypatch.setattr(tg, "press", tg_recording)
    monkeypatch.setattr(dc, "press", dc_recording)
    ann_tg = Actor(platform="telegram", user_id=str(ANN_TG))
    public = await _dataset(rpc, ann_tg, "Sunset cats", ["cats"], seed=60)
    private = await _dataset(rpc, ann_tg, "Sunset secrets", ["cats"], seed=70)
    await daemon.grant(f"discord:{BEN_DC}", 1000)
    run_bot(
        run_telegram,
        bot_settings(daemon, telegram_token=tg.token, telegram_api_base=tg.base_url),  # type: ignore[attr-defined]
    )
    run_bot(
        run_discord,
        bot_settings(
            daemon,
            discord_token=dc.token,
            discord_api_base=dc.api_base,  # type: ignore[attr-defined]
            discord_gateway=dc.gateway_url,  # type: ignore[attr-defined]
        ),
    )

    # Ann publishes on Telegram: /datasets → the dataset → Publish → Public → a licence.
    mark = len(tg.log)
    tg.send_text(ANN_TG, "/datasets")
    datasets = await tg.wait_text("Your datasets:", after=mark)
    detail = await _tg_press(tg, datasets, "Sunset cats", "Dataset #")
    asked = await _tg_press(tg, detail, "Publish", market_texts.ASK_VISIBILITY)
    licences = await _tg_press(tg, asked, "Public", market_texts.ASK_LICENCE)
    done = await _tg_press(tg, licences, "CC-BY-4.0", "Done.")
    assert f"Dataset #{public} “Sunset cats” is public under CC-BY-4.0." in done.text
    assert done.message_id == asked.message_id  # the publishing answer moved on in place
    mark = len(tg.log)
    tg.send_text(ANN_TG, "/explore sunset #cats")
    chosen = await tg.wait_text(market_texts.EXPLORE_CHOOSE, after=mark)
    assert "Search: “sunset” · tag #cats" in chosen.text
    listed = await _tg_press(tg, chosen, "Datasets", "Public datasets")
    assert "1. Sunset cats" in listed.text and "secrets" not in listed.text

    # Ben on Discord: /explore finds it (never the private one), opens it, trains on it.
    await asyncio.wait_for(dc.identified.wait(), 30)
    await _synced(dc)
    assert {"explore", "earnings"} <= {c["name"] for c in dc.commands}
    mark = len(dc.log)
    await dc.slash(BEN_DC, "explore", "datasets", options={"search": "sunset"})
    page = await dc.wait_text("Public datasets", after=mark)
    assert page.ephemeral and "1. Sunset cats" in page.content and "secrets" not in page.content
    resorted = await _dc_press(dc, page, "Sort: most used", "most used first")
    assert resorted.message_id == page.message_id and "Sunset cats" in resorted.content
    card = await _dc_press(dc, resorted, "1. Sunset cats", f"Dataset #{public}")
    assert "Licence: CC-BY-4.0" in card.content
    offerings = await _dc_press(dc, card, "Train on this", "What should I train?")
    presets = await _dc_press(dc, offerings, "Tiny LoRA", "pick a preset")
    summary = await _dc_press(dc, presets, "fast", "Price:")
    assert "Dataset: Sunset cats (4 images), trigger word: sunset" in summary.content
    await _dc_press(dc, summary, "Confirm", "is queued")
    jobs = (await daemon.get("/v1/jobs", f"discord:{BEN_DC}"))["jobs"]
    assert [j["dataset_id"] for j in jobs] == [public]
    assert private not in [j["dataset_id"] for j in jobs]

    # A public LoRA of Ann's: its card comes with its samples, sent as files.
    model_id = await _model(daemon, rpc, ann_tg, private, tmp_path)
    await rpc.update_model(ann_tg, model_id, visibility="public", licence="CC0-1.0")
    mark = len(dc.log)
    await dc.slash(BEN_DC, "explore", "models")
    models = await dc.wait_text("Public LoRAs", after=mark)
    card = await _dc_press(dc, models, "1. Sunset secrets", f"LoRA #{model_id}")
    assert "Base: tiny" in card.content and "Licence: CC0-1.0" in card.content
    samples = await dc.wait_text(f"Samples of model #{model_id}", after=mark)
    assert samples.files == [("samples.png", png(99, size=96))]

    # Ann's /earnings shows the royalty of Ben's use.
    royalty = daemon.app[ECONOMY].market.royalty(jobs[0]["cost"])
    mark = len(tg.log)
    tg.send_text(ANN_TG, "/earnings")
    earned = await tg.wait_text(market_texts.EARNINGS_HEADER, after=mark)
    assert f"Dataset #{public} “Sunset cats” (public) — 1 uses, {royalty} points" in earned.text
    assert f"Dataset #{private} " not in earned.text and f"LoRA #{model_id} " in earned.text
    assert earned.text.endswith(f"Total earned: {royalty} points.") and royalty > 0
    assert pressed >= MARKET_ACTIONS


async def _tg_press(fake: FakeTelegram, sent: Any, label: str, expect: str) -> Any:
    mark = len(fake.log)
    fake.press(ANN_TG, sent, label)
    return await fake.wait_text(expect, after=mark)


async def _dc_press(fake: FakeDiscord, sent: Any, label: str, expect: str) -> Any:
    mark = len(fake.log)
    await fake.press(BEN_DC, sent, label)
    return await fake.wait_text(expect, after=mark)


async def _synced(fake: FakeDiscord) -> None:
    for _ in range(200):  # commands are synced in setup_hook, before the gateway connects
        if fake.commands:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")
