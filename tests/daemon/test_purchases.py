"""Buying points over real HTTP: Telegram Stars orders, Discord entitlements, admin refunds.

Telegram's and Discord's servers are out of reach; the bots' suites drive these routes from the
fake servers' real updates. Here the daemon's rules: a payment credits once, whatever is
redelivered; a refund takes the points back first and is refused once they were spent.
"""

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.db.models import LedgerEntry, Purchase
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, make_dataset, user_headers
from tests.daemon.economy import write_economy
from tests.daemon.hostile import snapshot

TG = user_headers("telegram:5001")
DC = user_headers("discord:6001")


@pytest.fixture
async def shop(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> TestClient:
    settings = make_settings(economy_file=write_economy(tmp_path))
    return await aiohttp_client(create_app(settings))


async def order(client: TestClient, pack_id: str = "small") -> dict[str, Any]:
    response = await client.post("/v1/purchases", json={"pack_id": pack_id}, headers=TG)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def pay(client: TestClient, purchase_id: int, charge: str, amount: int = 10) -> Any:
    body = {"charge_id": charge, "currency": "XTR", "total_amount": amount}
    return await client.post(f"/v1/purchases/{purchase_id}/paid", json=body, headers=TG)


async def ledger(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    return dict(await (await client.get("/v1/ledger", headers=headers)).json())


async def test_packs_on_sale_leave_out_withdrawn_ones(shop: TestClient) -> None:
    packs = (await (await shop.get("/v1/packs", headers=TG)).json())["packs"]
    assert [(p["id"], p["points"], p["stars"]) for p in packs] == [
        ("small", 100, 10),
        ("big", 1000, 90),
    ]


async def test_a_stars_payment_credits_once_however_often_it_is_delivered(
    shop: TestClient,
) -> None:
    purchase = await order(shop)
    assert (purchase["status"], purchase["points"], purchase["price"]) == ("pending", 100, 10)
    check = {"currency": "XTR", "total_amount": 10}
    checked = await shop.post(f"/v1/purchases/{purchase['id']}/check", json=check, headers=TG)
    assert checked.status == 200
    first = await pay(shop, purchase["id"], "tg-charge-1")
    assert first.status == 201
    again = [await pay(shop, purchase["id"], "tg-charge-1") for _ in range(3)]
    assert [r.status for r in again] == [200, 200, 200]
    answers = [await first.json()] + [await r.json() for r in again]
    assert {(a["status"], a["balance"], a["charge_id"]) for a in answers} == {
        ("credited", 100, "tg-charge-1")
    }
    book = await ledger(shop, TG)
    assert [(e["kind"], e["delta"]) for e in book["entries"]] == [("purchase", 100)]
    assert book["balance"] == 100
    # Paid now: a second checkout of the same invoice is refused.
    late = await shop.post(f"/v1/purchases/{purchase['id']}/check", json=check, headers=TG)
    assert (late.status, (await late.json())["error"]["code"]) == (409, "PURCHASE_NOT_PENDING")


async def test_checkout_refuses_a_withdrawn_pack_a_wrong_price_and_others_orders(
    shop: TestClient, tmp_path: Path
) -> None:
    purchase = await order(shop)
    path = f"/v1/purchases/{purchase['id']}/check"
    wrong = await shop.post(path, json={"currency": "XTR", "total_amount": 1}, headers=TG)
    assert (wrong.status, (await wrong.json())["error"]["code"]) == (409, "PRICE_MISMATCH")
    other = await shop.post(
        path, json={"currency": "XTR", "total_amount": 10}, headers=user_headers("telegram:9")
    )
    missing = await shop.post(
        "/v1/purchases/999999/check", json={"currency": "XTR", "total_amount": 10}, headers=TG
    )
    assert other.status == missing.status == 404
    assert (await other.json())["error"]["code"] == (await missing.json())["error"]["code"]
    withdrawn = await shop.post("/v1/purchases", json={"pack_id": "old"}, headers=TG)
    assert (withdrawn.status, (await withdrawn.json())["error"]["code"]) == (
        404,
        "PACK_UNAVAILABLE",
    )


async def test_an_order_whose_pack_was_withdrawn_is_refused_at_checkout_but_honoured_once_paid(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    economy = write_economy(tmp_path)
    client = await aiohttp_client(create_app(make_settings(economy_file=economy)))
    purchase = await order(client)
    # The operator withdraws the pack and restarts the daemon on the same data.
    economy.write_text(
        economy.read_text().replace('title = "Small"', 'title = "Small"\nenabled = false')
    )
    again = await aiohttp_client(create_app(make_settings(economy_file=economy)))
    check = {"currency": "XTR", "total_amount": 10}
    refused = await again.post(f"/v1/purchases/{purchase['id']}/check", json=check, headers=TG)
    body = await refused.json()
    assert (refused.status, body["error"]["code"]) == (404, "PACK_UNAVAILABLE")
    # Had Telegram taken the money anyway (a payment racing the withdrawal), it is honoured.
    paid = await pay(again, purchase["id"], "tg-late")
    assert (paid.status, (await paid.json())["balance"]) == (201, 100)


async def test_one_charge_cannot_pay_two_orders(shop: TestClient) -> None:
    first, second = await order(shop), await order(shop)
    assert (await pay(shop, first["id"], "tg-same")).status == 201
    reused = await pay(shop, second["id"], "tg-same")
    assert (reused.status, (await reused.json())["error"]["code"]) == (409, "CHARGE_ALREADY_USED")
    assert (await ledger(shop, TG))["balance"] == 100


async def test_a_discord_entitlement_credits_once_and_only_its_buyer(shop: TestClient) -> None:
    body = {"entitlement_id": "2200000000000000001", "sku_id": "1100000000000000002"}
    first = await shop.post("/v1/purchases/entitlements", json=body, headers=DC)
    again = await shop.post("/v1/purchases/entitlements", json=body, headers=DC)
    assert (first.status, again.status) == (201, 200)
    purchase = await again.json()
    assert (purchase["provider"], purchase["points"], purchase["balance"]) == (
        "discord_sku",
        1000,
        1000,
    )
    thief = await shop.post(
        "/v1/purchases/entitlements", json=body, headers=user_headers("discord:6002")
    )
    assert (thief.status, (await thief.json())["error"]["code"]) == (409, "ENTITLEMENT_CLAIMED")
    # A withdrawn pack's SKU, once bought, is still honoured.
    old = {"entitlement_id": "2200000000000000002", "sku_id": "1100000000000000003"}
    assert (await shop.post("/v1/purchases/entitlements", json=old, headers=DC)).status == 201
    assert (await ledger(shop, DC))["balance"] == 1050


async def test_unknown_skus_and_wrong_platforms_are_refused_and_change_nothing(
    shop: TestClient,
) -> None:
    before = await snapshot(shop.app[SESSIONMAKER])
    unknown = {"entitlement_id": "2200000000000000009", "sku_id": "1999999999999999999"}
    refusals = [
        (await shop.post("/v1/purchases/entitlements", json=unknown, headers=DC), "SKU_UNKNOWN"),
        (
            await shop.post(
                "/v1/purchases/entitlements",
                json={**unknown, "sku_id": "1100000000000000001"},
                headers=TG,
            ),
            "WRONG_PLATFORM",
        ),
        (
            await shop.post("/v1/purchases", json={"pack_id": "small"}, headers=DC),
            "WRONG_PLATFORM",
        ),
        (
            await shop.post(
                "/v1/purchases/entitlements",
                json={"entitlement_id": "x", "sku_id": "1"},
                headers=DC,
            ),
            "INVALID_INPUT",
        ),
        (
            await shop.post("/v1/purchases", json={"pack_id": "nope"}, headers=TG),
            "PACK_UNAVAILABLE",
        ),
    ]
    for response, code in refusals:
        assert response.status in (400, 404), await response.text()
        assert (await response.json())["error"]["code"] == code
    async with shop.app[SESSIONMAKER]() as session:
        assert await session.scalar(select(func.count()).select_from(Purchase)) == 0
    after = await snapshot(shop.app[SESSIONMAKER])
    assert {k: v for k, v in after.items() if k != "balances"} == {
        k: v for k, v in before.items() if k != "balances"
    }


async def credited(client: TestClient, charge: str) -> dict[str, Any]:
    purchase = await order(client)
    assert (await pay(client, purchase["id"], charge)).status == 201
    return purchase


async def refund(client: TestClient, purchase_id: int) -> Any:
    return await client.post(f"/admin/purchases/{purchase_id}/refund", headers=ADMIN_HEADERS)


async def test_a_refund_after_spending_is_refused_and_changes_nothing(shop: TestClient) -> None:
    purchase = await credited(shop, "tg-spent")
    me = await (await shop.get("/v1/me", headers=TG)).json()
    async with shop.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, me["id"], images=4)
    job = {"dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast"}
    spent = await shop.post("/v1/jobs", json={**job, "idempotency_key": "spend"}, headers=TG)
    assert spent.status == 201
    before = await snapshot(shop.app[SESSIONMAKER])
    refused = await refund(shop, purchase["id"])
    body = await refused.json()
    assert (refused.status, body["error"]["code"]) == (409, "PURCHASE_POINTS_SPENT")
    assert body["error"]["details"] == {
        "balance": 100 - (await spent.json())["cost"],
        "points": 100,
    }
    assert await snapshot(shop.app[SESSIONMAKER]) == before
    listed = await (await shop.get("/admin/purchases", headers=ADMIN_HEADERS)).json()
    assert [p["status"] for p in listed["purchases"]] == ["credited"]


async def test_a_refund_the_provider_cannot_make_gives_the_points_back(shop: TestClient) -> None:
    # This daemon has no Telegram token: the points come back off and on again, visibly.
    purchase = await credited(shop, "tg-unconfigured")
    failed = await refund(shop, purchase["id"])
    body = await failed.json()
    assert (failed.status, body["error"]["code"]) == (502, "PROVIDER_NOT_CONFIGURED")
    book = await ledger(shop, TG)
    assert book["balance"] == 100 == sum(e["delta"] for e in book["entries"])
    assert [e["kind"] for e in book["entries"]] == [
        "purchase_refund",
        "purchase_refund",
        "purchase",
    ]
    listed = await (await shop.get("/admin/purchases", headers=ADMIN_HEADERS)).json()
    assert listed["purchases"][0]["status"] == "credited"
    assert "LORABOT_TELEGRAM_TOKEN" in listed["purchases"][0]["refund_error"]


async def test_refund_of_a_discord_purchase_or_an_unpaid_order_is_refused(
    shop: TestClient,
) -> None:
    body = {"entitlement_id": "2200000000000000005", "sku_id": "1100000000000000001"}
    discord = await (await shop.post("/v1/purchases/entitlements", json=body, headers=DC)).json()
    unpaid = await order(shop)
    for purchase_id, code in [
        (discord["id"], "REFUND_UNSUPPORTED"),
        (unpaid["id"], "PURCHASE_NOT_PAID"),
    ]:
        response = await refund(shop, purchase_id)
        assert (response.status, (await response.json())["error"]["code"]) == (409, code)
    missing = await refund(shop, 999999)
    assert missing.status == 404
    async with shop.app[SESSIONMAKER]() as session:
        kinds = list(await session.scalars(select(LedgerEntry.kind)))
    assert kinds == ["purchase"]


async def test_the_economy_totals_add_up(shop: TestClient) -> None:
    await credited(shop, "tg-a")
    await credited(shop, "tg-b")
    body = {"entitlement_id": "2200000000000000007", "sku_id": "1100000000000000002"}
    await shop.post("/v1/purchases/entitlements", json=body, headers=DC)
    economy = await (await shop.get("/admin/economy", headers=ADMIN_HEADERS)).json()
    assert economy["purchases_by_provider"]["telegram_stars"] == {
        "purchases": 2,
        "points": 200,
        "price": 20,
        "refunded": 0,
        "refunded_points": 0,
    }
    assert economy["purchases_by_provider"]["discord_sku"]["points"] == 1000
    assert economy["points_outstanding"] == 1200 == economy["ledger_by_kind"]["purchase"]


async def test_an_order_made_before_linking_accounts_is_credited_to_the_joined_account(
    shop: TestClient,
) -> None:
    purchase = await order(shop)
    code = await (await shop.post("/v1/me/link-code", headers=DC)).json()
    linked = await shop.post("/v1/me/link", json={"code": code["code"]}, headers=TG)
    assert linked.status == 200
    paid = await pay(shop, purchase["id"], "tg-after-link")
    assert (paid.status, (await paid.json())["balance"]) == (201, 100)
    for headers in (TG, DC):
        assert (await ledger(shop, headers))["balance"] == 100
