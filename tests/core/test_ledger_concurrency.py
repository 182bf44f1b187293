"""Many concurrent debits and job submissions: never negative, never twice, never "locked".

SQLite is driven over real HTTP against the app (the way bots reach it); PostgreSQL at the
domain level with one session per request, many at once.
"""

import asyncio
import uuid
from collections import Counter

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.economy import MarketRules
from core.enums import LedgerKind
from core.errors import InsufficientPoints
from core.jobs import JobRequest, submit_job
from core.ledger import balance, ledger_sum, post_entry
from core.offerings import OfferingRegistry
from core.settings import BUNDLED_OFFERINGS
from tests.conftest import ADMIN_HEADERS, job_body, make_account, make_dataset, user_headers

DEBITS = 200
PRICE = 7
START = 1000  # covers floor(1000 / 7) = 142 of the 200 debits


async def _debit_over_http(client: TestClient, account_id: int, key: str) -> int:
    response = await client.post(
        f"/admin/accounts/{account_id}/grant",
        json={"amount": -PRICE, "reason": "debit", "idempotency_key": key},
        headers=ADMIN_HEADERS,
    )
    body = await response.json()
    if response.status >= 400:
        assert body["error"]["code"] == "INSUFFICIENT_POINTS", body
    return response.status


async def test_concurrent_debits_over_http_sqlite(
    client: TestClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        account = await make_account(session, balance=START)
    keys = [f"debit-{i}" for i in range(DEBITS)]
    calls = [_debit_over_http(client, account.id, key) for key in keys for _ in range(2)]
    statuses = await asyncio.gather(*calls)
    counts = Counter(statuses)
    succeeded = START // PRICE
    # Each successful key answers 201 once and 200 for its repeat; refused keys 402 twice.
    assert counts == {201: succeeded, 200: succeeded, 402: 2 * (DEBITS - succeeded)}
    async with sessionmaker() as session:
        assert await balance(session, account.id) == START - succeeded * PRICE
        assert await ledger_sum(session, account.id) == START - succeeded * PRICE


async def _submit_over_http(client: TestClient, user: str, dataset_id: int, key: str) -> int:
    response = await client.post(
        "/v1/jobs", json=job_body(dataset_id, key), headers=user_headers(user)
    )
    assert response.status in (200, 201, 402), await response.text()
    return response.status


async def test_concurrent_job_submissions_over_http_sqlite(
    client: TestClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    registry = OfferingRegistry.load(BUNDLED_OFFERINGS)
    fast = registry.get("tiny-lora")
    cost = fast.cost(fast.preset("fast").model_dump())
    async with sessionmaker.begin() as session:
        account = await make_account(session, platform_user_id="555", balance=cost * 10 + 3)
        dataset = await make_dataset(session, account.id, images=8)
    calls = [
        _submit_over_http(client, "telegram:555", dataset.id, f"job-{i}")
        for i in range(30)
        for _ in range(2)
    ]
    counts = Counter(await asyncio.gather(*calls))
    assert counts == {201: 10, 200: 10, 402: 40}
    jobs = await (
        await client.get("/v1/jobs?limit=100", headers=user_headers("telegram:555"))
    ).json()
    assert len(jobs["jobs"]) == 10
    async with sessionmaker() as session:
        assert await balance(session, account.id) == 3
        assert await ledger_sum(session, account.id) == 3


async def _debit_in_session(
    maker: async_sessionmaker[AsyncSession], account_id: int, key: str
) -> bool:
    try:
        async with maker.begin() as session:
            _, created = await post_entry(
                session,
                account_id=account_id,
                delta=-PRICE,
                kind=LedgerKind.training_debit,
                idempotency_key=key,
            )
    except InsufficientPoints:
        return False
    return created


@pytest.mark.postgres
async def test_concurrent_debits_postgres(pg: async_sessionmaker[AsyncSession]) -> None:
    async with pg.begin() as session:
        account = await make_account(session, balance=START)
    keys = [f"debit-{i}" for i in range(DEBITS)]
    results = await asyncio.gather(
        *(_debit_in_session(pg, account.id, key) for key in keys for _ in range(2))
    )
    succeeded = START // PRICE
    assert sum(results) == succeeded  # created=True exactly once per paid key
    async with pg() as session:
        assert await balance(session, account.id) == START - succeeded * PRICE
        assert await ledger_sum(session, account.id) == START - succeeded * PRICE


@pytest.mark.postgres
async def test_concurrent_job_submissions_postgres(
    pg: async_sessionmaker[AsyncSession], tmp_path
) -> None:
    registry = OfferingRegistry.load(BUNDLED_OFFERINGS)
    fast = registry.get("tiny-lora")
    cost = fast.cost(fast.preset("fast").model_dump())
    async with pg.begin() as session:
        account = await make_account(session, balance=cost * 10 + 3)
        dataset = await make_dataset(session, account.id, images=8)

    async def submit(key: str) -> str:
        request = JobRequest(dataset.id, "tiny-lora", "fast", key)
        try:
            async with pg.begin() as session:
                job, created = await submit_job(
                    session,
                    registry,
                    MarketRules(),
                    account_id=account.id,
                    platform="telegram",
                    platform_user_id="1",
                    request=request,
                    data_dir=tmp_path,
                )
        except InsufficientPoints:
            return "short"
        return "created" if created else "repeat"

    same_key = await asyncio.gather(*(submit("one-key") for _ in range(20)))
    assert Counter(same_key) == {"created": 1, "repeat": 19}
    others = await asyncio.gather(*(submit(f"k-{i}") for i in range(30) for _ in range(2)))
    assert Counter(others) == {"created": 9, "repeat": 9, "short": 42}
    async with pg() as session:
        assert await balance(session, account.id) == 3
        assert await ledger_sum(session, account.id) == 3


@pytest.mark.postgres
async def test_concurrent_first_sight_creates_one_account_postgres(
    pg: async_sessionmaker[AsyncSession],
) -> None:
    from core.accounts import account_for_identity
    from core.enums import Platform

    user = uuid.uuid4().hex[:10]

    async def first_call() -> int:
        async with pg.begin() as session:
            return (await account_for_identity(session, Platform.discord, user)).id

    ids = await asyncio.gather(*(first_call() for _ in range(30)))
    assert len(set(ids)) == 1
