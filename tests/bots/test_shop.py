"""Buying points in both bots, quote-aware Confirm and the low-balance notice.

The real daemon (its economy file names Discord SKUs) and the real bots, against the fake
Telegram (Stars invoices, checkout, payments, refunds) and the fake Discord (entitlements).
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.delivery import notification_messages
from bots.common.schemas import Actor, Upload
from bots.common.train import TrainFlow, TrainState, TrainStep
from bots.discord.main import run as run_discord
from bots.telegram.main import run as run_telegram
from core.db.models import Quote
from core.db.types import utcnow
from core.invoices import invoice_payload
from daemon.app import create_app
from daemon.keys import ECONOMY, SESSIONMAKER
from daemon.schemas import NotificationOut
from daemon.telegram_stars import reconcile
from tests.bots.conftest import Daemon, bot_settings, png
from tests.bots.fakes.discord import FakeDiscord, Sent
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.fakes.telegram import Sent as TgSent
from tests.bots.fakes.telegram_stars import Charge, InvoiceSent, Refund
from tests.conftest import ADMIN_HEADERS, RPC_TOKEN

TG_USER = 777
TG = Actor(platform="telegram", user_id=str(TG_USER))
DC_USER = 123456789012345678
DC = Actor(platform="discord", user_id=str(DC_USER))
STARTER_SKU = "1300000000000000001"
UNKNOWN_SKU = "1399999999999999999"
ECONOMY_TOML = f"""
[packs.starter]
title = "Starter — 500 points"
points = 500
stars = 50
discord_sku_id = "{STARTER_SKU}"

[packs.creator]
title = "Creator — 2,000 points"
description = "Two thousand points"
points = 2000
stars = 180
discord_sku_id = "1300000000000000002"

[packs.small]
title = "Small — 100 points"
points = 100
stars = 10

[market]
low_balance_points = 450
"""


async def _serve(
    make_settings: Callable[..., Any], aiohttp_server: Any, tmp_path: Path, **fields: Any
) -> Daemon:
    economy = tmp_path / "economy.toml"
    economy.write_text(ECONOMY_TOML)
    app = create_app(make_settings(economy_file=economy, **fields))
    server = await aiohttp_server(app, host="127.0.0.1")
    return Daemon(str(server.make_url("")).rstrip("/"), app)


@pytest.fixture
async def shop(
    make_settings: Callable[..., Any],
    aiohttp_server: Any,
    tmp_path: Path,
    fake_telegram: FakeTelegram,
) -> Daemon:
    """An RPC-only daemon selling the test packs; it refunds Stars through the fake."""
    return await _serve(
        make_settings,
        aiohttp_server,
        tmp_path,
        run_queue=False,
        telegram_token=fake_telegram.token,
        telegram_api_base=fake_telegram.base_url,  # type: ignore[attr-defined]
    )


@pytest.fixture
async def rpc(shop: Daemon) -> Any:
    async with DaemonClient(shop.url, RPC_TOKEN, attempts=2, backoff=0.05) as client:
        yield client


async def _purchases(daemon: Daemon, who: str) -> list[dict[str, Any]]:
    entries = (await daemon.get("/v1/ledger", who))["entries"]
    return [e for e in entries if e["kind"] == "purchase"]


async def _train(client: DaemonClient, who: Actor) -> TrainFlow:
    """The common journey on a new 4-image dataset, up to the price summary of tiny-lora."""
    flow = TrainFlow(client, who, TrainState())
    await flow.begin()
    await flow.ask_name()
    await flow.text("Bought Cat")
    await flow.add_images([Upload(f"c{i}.png", png(i)) for i in range(4)])
    await flow.images_done()
    await flow.skip_captions()
    await flow.use_suggested_trigger()
    await flow.pick_offering("tiny-lora")
    summary = await flow.pick_preset("fast")
    assert flow.state.step is TrainStep.summary and flow.state.quote_id
    assert f"Price: {flow.state.cost} points" in summary.text and "holds until" in summary.text
    return flow


# -- Telegram --------------------------------------------------------------------------------
def _tg_settings(daemon: Daemon, fake: FakeTelegram) -> Any:
    return bot_settings(
        daemon,
        telegram_token=fake.token,
        telegram_api_base=fake.base_url,  # type: ignore[attr-defined]
    )


async def _say(fake: FakeTelegram, text: str, expect: str) -> TgSent:
    mark = len(fake.log)
    fake.send_text(TG_USER, text)
    return await fake.wait_text(expect, after=mark)


async def _invoice(fake: FakeTelegram, label: str) -> InvoiceSent:
    """/buy, then the pack's button: the invoice the bot sends."""
    listing = await _say(fake, "/buy", "Buy points")
    mark = len(fake.stars.invoices)
    fake.press(TG_USER, listing, label)
    return await fake.wait_invoice(after=mark)


async def test_a_new_telegram_user_buys_stars_once_and_trains(
    shop: Daemon, rpc: DaemonClient, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run_telegram, _tg_settings(shop, fake))
    welcome = await _say(fake, "/start", "Welcome")
    assert "Your balance: 0 points" in welcome.text and "/buy" in welcome.text
    listing = await _say(fake, "/buy", "Buy points")
    assert "Starter — 500 points: 500 points for 50 ⭐" in listing.text
    assert "Small — 100 points: 100 points for 10 ⭐" in listing.text

    invoice = await _invoice(fake, "500 points — 50 ⭐")
    purchase_id = int(invoice.payload.removeprefix("purchase:"))
    # Stars take an empty provider token (aiogram leaves an empty value off the wire).
    assert invoice.currency == "XTR" and not invoice.provider_token
    assert invoice.prices == [{"label": "500 points", "amount": 50}]
    assert invoice.title == "Starter — 500 points" and invoice.description
    mark = len(fake.log)
    charge_id = await fake.pay(TG_USER, invoice, times=2)  # the update is delivered twice
    receipt = await fake.wait_text("points were added", after=mark)
    assert "Balance: 500 points" in receipt.text and charge_id in receipt.text
    await _say(fake, "/help", "/buy")  # handled after both copies of the payment
    assert sum("points were added" in s.text for s in fake.log) == 1

    [entry] = await _purchases(shop, TG.header)
    assert entry["delta"] == 500
    [purchase] = (await shop.get("/v1/purchases", TG.header))["purchases"]
    assert (purchase["id"], purchase["status"], purchase["charge_id"]) == (
        purchase_id,
        "credited",
        charge_id,
    )

    flow = await _train(rpc, TG)
    cost = flow.state.cost or 0
    confirmed = await flow.confirm(flow.state.summary_id or "")
    assert confirmed.created and confirmed.job is not None and confirmed.job.cost == cost
    assert (await rpc.me(TG)).balance == 500 - cost


async def test_checkout_of_a_withdrawn_pack_or_a_wrong_amount_is_refused(
    shop: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run_telegram, _tg_settings(shop, fake))
    starter = await _invoice(fake, "500 points")
    small = await _invoice(fake, "100 points")

    wrong = await fake.checkout_answer(fake.pre_checkout(TG_USER, small, total_amount=1))
    assert not wrong["ok"] and wrong["error_message"] == texts.CHECKOUT_REFUSED["PRICE_MISMATCH"]

    # The operator takes the pack off sale (what a restart on an edited economy file does).
    shop.app[ECONOMY].packs["starter"].enabled = False
    asked = fake.pre_checkout(TG_USER, starter)
    answer = await fake.checkout_answer(asked)
    assert not answer["ok"]
    assert answer["error_message"] == texts.CHECKOUT_REFUSED["PACK_UNAVAILABLE"]
    assert fake.stars.charges == {}
    assert await _purchases(shop, TG.header) == []
    listing = await _say(fake, "/buy", "Buy points")
    assert "Starter" not in listing.text and "Small" in listing.text


async def test_checkout_is_answered_while_the_daemon_is_down(
    fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    down = Daemon("http://127.0.0.1:9", None)
    run_bot(run_telegram, _tg_settings(down, fake))
    invoice = InvoiceSent(TG_USER, 1, "Starter", "500 points", "purchase:1", "XTR", [], "")
    started = asyncio.get_running_loop().time()
    answer = await fake.checkout_answer(fake.pre_checkout(TG_USER, invoice, total_amount=50))
    assert not answer["ok"] and answer["error_message"] == texts.CHECKOUT_DOWN
    assert asyncio.get_running_loop().time() - started < 10.0  # within Telegram's limit


async def test_an_admin_refund_goes_through_telegram_once(
    shop: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    run_bot(run_telegram, _tg_settings(shop, fake))
    invoice = await _invoice(fake, "100 points")
    mark = len(fake.log)
    charge_id = await fake.pay(TG_USER, invoice)
    await fake.wait_text("points were added", after=mark)
    [purchase] = (await shop.get("/v1/purchases", TG.header))["purchases"]
    refunded = await _admin_post(shop, f"/admin/purchases/{purchase['id']}/refund")
    assert refunded["status"] == "refunded"
    assert fake.stars.refunds == [Refund(TG_USER, charge_id)]
    assert (await shop.get("/v1/me", TG.header))["balance"] == 0


async def test_a_payment_the_bot_never_passed_on_is_credited_once_from_telegram(
    shop: Daemon, fake_telegram: FakeTelegram, rpc: DaemonClient
) -> None:
    # Telegram took the payment, but its update never reached the daemon (the daemon was down
    # when the bot got it): the payment is in the bot's Star transactions all the same.
    purchase = await rpc.create_purchase(TG, "small")
    fake = fake_telegram
    fake.stars.charges["stxLOST"] = Charge(TG_USER, "XTR", 10, invoice_payload(purchase.id))
    other = await rpc.create_purchase(Actor(platform="telegram", user_id="778"), "small")
    # A payment naming another person's order, and one of no order, are not credited.
    fake.stars.charges["stxFORGED"] = Charge(TG_USER, "XTR", 10, invoice_payload(other.id))
    fake.stars.charges["stxOTHER"] = Charge(TG_USER, "XTR", 10, "someone-elses-bot")
    # One that does not fit its order is refused without holding up the others.
    odd = await rpc.create_purchase(TG, "small")
    fake.stars.charges["stxODD"] = Charge(TG_USER, "XTR", 3, invoice_payload(odd.id))
    fake.stars.charges["stxLOST"] = fake.stars.charges.pop("stxLOST")  # listed after the odd one
    assert await reconcile(shop.app) == 1
    assert await reconcile(shop.app) == 0
    # The update arrives after all (the bot retried it): no second credit.
    _, created = await rpc.purchase_paid(
        TG, purchase.id, charge_id="stxLOST", currency="XTR", total_amount=10
    )
    assert not created
    assert [e["delta"] for e in await _purchases(shop, TG.header)] == [100]
    assert (await shop.get("/v1/me", TG.header))["balance"] == 100
    assert (await shop.get("/v1/me", "telegram:778"))["balance"] == 0


async def _admin_post(daemon: Daemon, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(daemon.url + path, json={}, headers=ADMIN_HEADERS) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


# -- Discord ---------------------------------------------------------------------------------
async def _start_discord(fake: FakeDiscord, daemon: Daemon, run_bot: Any) -> Any:
    settings = bot_settings(
        daemon,
        discord_token=fake.token,
        discord_api_base=fake.api_base,  # type: ignore[attr-defined]
        discord_gateway=fake.gateway_url,  # type: ignore[attr-defined]
    )
    bot = run_bot(run_discord, settings)
    await asyncio.wait_for(fake.identified.wait(), 30)
    for _ in range(200):
        if fake.commands:
            return bot
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")


async def _dm(fake: FakeDiscord, part: str, after: int = 0) -> Sent:
    """A message in DC_USER's DM channel (the fake's DM channel id is the user id + 1)."""
    return await fake.wait_for(
        lambda s: s.channel_id == DC_USER + 1 and part in s.content, after=after
    )


async def _consumed(fake: FakeDiscord, entitlement: dict[str, Any]) -> None:
    for _ in range(200):
        if fake.is_consumed(entitlement):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"entitlement {entitlement['id']} was never consumed")


async def test_a_new_discord_user_buys_a_sku_once_and_trains(
    shop: Daemon, rpc: DaemonClient, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    await _start_discord(fake, shop, run_bot)
    assert "buy" in {c["name"] for c in fake.commands}
    mark = len(fake.log)
    await fake.slash(DC_USER, "buy")
    listing = await fake.wait_text("Buy points", after=mark)
    assert listing.ephemeral and "Small" not in listing.content  # sold on Telegram only
    buttons = [c for row in listing.components for c in row["components"]]
    assert [(b["style"], b["sku_id"]) for b in buttons] == [
        (6, STARTER_SKU),
        (6, "1300000000000000002"),
    ]

    mark = len(fake.log)
    entitlement = await fake.buy(DC_USER, STARTER_SKU, times=2)  # the event comes twice
    await _consumed(fake, entitlement)
    receipt = await _dm(fake, "points were added", after=mark)
    assert "Balance: 500 points" in receipt.content and entitlement["id"] in receipt.content
    await fake.redeliver(entitlement)  # and once more, after it was consumed
    await asyncio.sleep(1.0)
    assert sum("points were added" in s.content for s in fake.log) == 1
    [entry] = await _purchases(shop, DC.header)
    assert entry["delta"] == 500

    flow = await _train(rpc, DC)
    confirmed = await flow.confirm(flow.state.summary_id or "")
    assert confirmed.job is not None
    assert (await rpc.me(DC)).balance == 500 - (flow.state.cost or 0)


async def test_an_unknown_sku_is_not_consumed_and_missed_purchases_are_credited(
    shop: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    bot = await _start_discord(fake, shop, run_bot)
    unknown = await fake.buy(DC_USER, UNKNOWN_SKU)
    known = await fake.buy(DC_USER, STARTER_SKU)
    await _consumed(fake, known)
    await asyncio.sleep(0.5)
    assert not fake.is_consumed(unknown) and int(unknown["id"]) not in fake.shop.consume_calls

    await bot.stop()
    missed = await fake.buy(DC_USER, STARTER_SKU, online=False)  # bought while the bot is away
    mark = len(fake.log)
    await _start_discord(fake, shop, run_bot)
    await _consumed(fake, missed)
    await _dm(fake, "Balance: 1000 points", after=mark)
    assert fake.shop.list_calls  # found by listing the application's entitlements
    assert not fake.is_consumed(unknown) and int(unknown["id"]) not in fake.shop.consume_calls
    assert [e["delta"] for e in await _purchases(shop, DC.header)] == [500, 500]


@pytest.mark.slow
async def test_bought_points_pay_for_a_training_that_completes(
    make_settings: Callable[..., Any],
    aiohttp_server: Any,
    tmp_path: Path,
    fake_discord: FakeDiscord,
    run_bot: Any,
) -> None:
    daemon = await _serve(
        make_settings, aiohttp_server, tmp_path, run_queue=True, notification_lease_seconds=3.0
    )
    fake = fake_discord
    await _start_discord(fake, daemon, run_bot)
    await _consumed(fake, await fake.buy(DC_USER, STARTER_SKU))
    async with DaemonClient(daemon.url, RPC_TOKEN) as client:
        flow = await _train(client, DC)
        mark = len(fake.log)
        assert (await flow.confirm(flow.state.summary_id or "")).created
        job = await daemon.wait_completed(DC.header)
        await _dm(fake, "Your LoRA is ready", after=mark)
        assert (await client.me(DC)).balance == 500 - job["cost"]


# -- Quotes and the low-balance notice -------------------------------------------------------
async def _shift_quote(daemon: Daemon, quote_id: str, **values: Any) -> None:
    async with daemon.app[SESSIONMAKER].begin() as session:
        await session.execute(update(Quote).where(Quote.id == quote_id).values(**values))


async def test_confirm_shows_the_new_price_first_when_the_quote_expired(
    shop: Daemon, rpc: DaemonClient
) -> None:
    await shop.grant(TG.header, 1000)
    flow = await _train(rpc, TG)
    cost, old_summary, old_quote = flow.state.cost or 0, flow.state.summary_id, flow.state.quote_id
    await _shift_quote(shop, old_quote or "", expires_at=utcnow() - timedelta(seconds=1))

    refused = await flow.confirm(old_summary or "")
    assert refused.job is None and not refused.created
    assert refused.screen.text == texts.QUOTE_EXPIRED.format(cost=cost)
    assert [b.label for b in refused.screen.buttons] == [f"Confirm and pay {cost}", "Cancel"]
    assert flow.state.quote_id != old_quote and flow.state.summary_id != old_summary
    assert await rpc.jobs(TG) == [] and (await rpc.me(TG)).balance == 1000

    paid = await flow.confirm(flow.state.summary_id or "")
    assert paid.created and paid.job is not None and paid.job.cost == cost
    assert (await rpc.me(TG)).balance == 1000 - cost


async def test_confirm_shows_a_changed_price_first(shop: Daemon, rpc: DaemonClient) -> None:
    await shop.grant(TG.header, 1000)
    flow = await _train(rpc, TG)
    cost = flow.state.cost or 0
    await _shift_quote(shop, flow.state.quote_id or "", cost=cost + 7)  # priced otherwise then

    refused = await flow.confirm(flow.state.summary_id or "")
    assert refused.job is None
    assert refused.screen.text == texts.QUOTE_CHANGED.format(quoted=cost + 7, cost=cost)
    paid = await flow.confirm(flow.state.summary_id or "")
    assert paid.job is not None and paid.job.cost == cost


async def test_low_balance_is_told_with_the_way_to_buy(
    shop: Daemon, rpc: DaemonClient, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    flow = await _train(rpc, TG)
    await shop.grant(TG.header, 450 + (flow.state.cost or 0) - 1)  # the test economy: 450
    assert (await flow.confirm(flow.state.summary_id or "")).job is not None
    mark = len(fake_telegram.log)
    run_bot(run_telegram, _tg_settings(shop, fake_telegram))
    told = await fake_telegram.wait_text("Your balance is low", after=mark)
    assert told.text == texts.LOW_BALANCE.format(balance=449, threshold=450)
    assert "/buy" in told.text


async def test_low_balance_text_needs_no_daemon_call() -> None:
    async with DaemonClient("http://127.0.0.1:9", RPC_TOKEN, attempts=1) as offline:
        n = NotificationOut(
            id=1,
            kind="low_balance",
            account_id=1,
            platform="discord",
            platform_user_id="42",
            payload={"balance": 12, "threshold": 50},
            created_at=utcnow(),
            deliveries=0,
        )
        [message] = await notification_messages(offline, n)
    assert message.text == texts.LOW_BALANCE.format(balance=12, threshold=50)
