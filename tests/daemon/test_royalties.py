"""Paid uses of others' published datasets: the user's debit, the owner's royalty, and their
reversal on refund, each in one transaction; under concurrency no balance goes negative and
every royalty matches its debit."""

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core.db.models import Account, LedgerEntry, PaidUse
from core.enums import Visibility
from core.ledger import ledger_sum
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, make_dataset, user_headers
from tests.daemon.economy import write_economy

OWNER = user_headers("telegram:8001")


async def account_id(client: TestClient, headers: dict[str, str]) -> int:
    return int((await (await client.get("/v1/me", headers=headers)).json())["id"])


async def give(client: TestClient, account: int, amount: int, key: str) -> None:
    body = {"amount": amount, "reason": "test", "idempotency_key": key}
    response = await client.post(
        f"/admin/accounts/{account}/grant", json=body, headers=ADMIN_HEADERS
    )
    assert response.status == 201


async def public_dataset(
    client: TestClient, owner: int, visibility: Visibility = Visibility.public
) -> int:
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, owner, images=4, visibility=visibility)
        return dataset.id


async def balances_match_ledgers(client: TestClient) -> dict[int, int]:
    async with client.app[SESSIONMAKER]() as session:
        accounts = list(await session.scalars(select(Account)))
        for account in accounts:
            assert account.balance >= 0
            assert account.balance == await ledger_sum(session, account.id), account.id
        return {account.id: account.balance for account in accounts}


@pytest.fixture
async def market(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> TestClient:
    return await aiohttp_client(create_app(make_settings(economy_file=write_economy(tmp_path))))


def job(dataset_id: int, key: str) -> dict[str, Any]:
    return {
        "dataset_id": dataset_id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "idempotency_key": key,
    }


async def test_training_on_anothers_dataset_pays_its_owner_and_a_refund_takes_it_back(
    market: TestClient,
) -> None:
    owner = await account_id(market, OWNER)
    user_headers_b = user_headers("discord:8002")
    user = await account_id(market, user_headers_b)
    await give(market, user, 100, "b")
    dataset = await public_dataset(market, owner)
    submitted = await market.post("/v1/jobs", json=job(dataset, "use-1"), headers=user_headers_b)
    assert submitted.status == 201
    cost = (await submitted.json())["cost"]
    royalty = cost // 2  # royalty_share 0.5, rounded down
    assert royalty > 0
    balances = await balances_match_ledgers(market)
    assert (balances[user], balances[owner]) == (100 - cost, royalty)
    again = await market.post("/v1/jobs", json=job(dataset, "use-1"), headers=user_headers_b)
    assert again.status == 200
    assert (await balances_match_ledgers(market))[owner] == royalty

    cancelled = await market.post(
        f"/v1/jobs/{(await submitted.json())['id']}/cancel", headers=user_headers_b
    )
    assert (await cancelled.json())["refunded_now"] == cost
    balances = await balances_match_ledgers(market)
    assert (balances[user], balances[owner]) == (100, 0)
    async with market.app[SESSIONMAKER]() as session:
        use = await session.scalar(select(PaidUse))
        kinds = sorted(
            await session.scalars(select(LedgerEntry.kind).where(LedgerEntry.account_id == owner))
        )
    assert use is not None and (use.price, use.royalty, use.reversed, use.unrecovered) == (
        cost,
        royalty,
        royalty,
        0,
    )
    assert kinds == ["royalty", "royalty_reversal"]
    economy = await (await market.get("/admin/economy", headers=ADMIN_HEADERS)).json()
    assert economy["royalties"] == {
        "uses": 1,
        "paid": royalty,
        "reversed": royalty,
        "unrecovered": 0,
    }


async def test_a_reversal_never_takes_an_owner_below_zero(market: TestClient) -> None:
    owner = await account_id(market, OWNER)
    b = user_headers("discord:8003")
    user = await account_id(market, b)
    await give(market, user, 100, "b")
    dataset = await public_dataset(market, owner)
    first = await (await market.post("/v1/jobs", json=job(dataset, "u1"), headers=b)).json()
    royalty = first["cost"] // 2
    # The owner spends the royalty at once (an operator takes it, the simplest way to spend).
    await give(market, owner, -royalty, "spend")
    await market.post(f"/v1/jobs/{first['id']}/cancel", headers=b)
    balances = await balances_match_ledgers(market)
    assert (balances[user], balances[owner]) == (100, 0)
    async with market.app[SESSIONMAKER]() as session:
        use = await session.scalar(select(PaidUse))
    assert use is not None and (use.reversed, use.unrecovered) == (0, royalty)


async def test_ones_own_dataset_is_no_paid_use_and_private_ones_cannot_be_used(
    market: TestClient,
) -> None:
    owner = await account_id(market, OWNER)
    await give(market, owner, 100, "a")
    own = await public_dataset(market, owner)
    assert (await market.post("/v1/jobs", json=job(own, "own"), headers=OWNER)).status == 201
    private = await public_dataset(market, owner, Visibility.private)
    b = user_headers("discord:8004")
    await give(market, await account_id(market, b), 100, "b")
    refused = await market.post("/v1/jobs", json=job(private, "p"), headers=b)
    missing = await market.post("/v1/jobs", json=job(999999, "m"), headers=b)
    assert refused.status == missing.status == 422
    errors = [(await r.json())["error"]["details"]["errors"] for r in (refused, missing)]
    assert (
        [e["code"] for e in errors[0]] == [e["code"] for e in errors[1]] == ["DATASET_NOT_FOUND"]
    )
    async with market.app[SESSIONMAKER]() as session:
        assert await session.scalar(select(PaidUse)) is None


async def concurrent_uses(client: TestClient, *, users: int, uses: int) -> None:
    """`uses` paid uses of one public dataset by `users` people, all at once."""
    owner = await account_id(client, OWNER)
    dataset = await public_dataset(client, owner)
    people = [user_headers(f"discord:{9000 + i}") for i in range(users)]
    for i, headers in enumerate(people):
        # Points for some of their uses only: many submits must be refused for want of points.
        await give(client, await account_id(client, headers), 30 + 7 * i, f"g{i}")
    order = [(people[n % users], f"use-{n}") for n in range(uses)]
    random.Random(9).shuffle(order)
    answers = await asyncio.gather(
        *(
            client.post("/v1/jobs", json=job(dataset, key), headers=headers)
            for headers, key in order
        )
    )
    statuses = sorted({answer.status for answer in answers})
    assert set(statuses) <= {201, 402}, statuses
    assert 201 in statuses and 402 in statuses
    created = sum(answer.status == 201 for answer in answers)
    balances = await balances_match_ledgers(client)
    async with client.app[SESSIONMAKER]() as session:
        paid = list(await session.scalars(select(PaidUse)))
        royalties = list(
            await session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "royalty"))
        )
        debits = {
            entry.reference: -entry.delta
            for entry in await session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == "training_debit")
            )
        }
    assert len(paid) == len(royalties) == len(debits) == created
    assert {use.id for use in paid} == {
        int(r.idempotency_key.rsplit(":", 1)[1]) for r in royalties
    }
    for use in paid:
        assert debits[f"job:{use.job_id}"] == use.price and use.royalty == use.price // 2
    assert balances[owner] == sum(use.royalty for use in paid)


async def test_200_concurrent_paid_uses_by_20_people_on_sqlite(market: TestClient) -> None:
    await concurrent_uses(market, users=20, uses=200)


@pytest.mark.postgres
async def test_200_concurrent_paid_uses_by_20_people_on_postgres(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings(economy_file=write_economy(tmp_path), database_url=postgres_url)
    await concurrent_uses(await aiohttp_client(create_app(settings)), users=20, uses=200)
