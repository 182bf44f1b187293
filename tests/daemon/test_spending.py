"""Spending protection: a quoted price holds or is shown anew, the daily cap, low balance."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from core.db.models import Notification, Quote
from core.db.types import utcnow
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, make_dataset, user_headers
from tests.daemon.economy import write_economy
from tests.daemon.hostile import snapshot

ME = user_headers("telegram:7301")


@pytest.fixture
async def client(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> TestClient:
    return await aiohttp_client(create_app(make_settings(economy_file=write_economy(tmp_path))))


@pytest.fixture
async def dataset_id(client: TestClient) -> int:
    me = await (await client.get("/v1/me", headers=ME)).json()
    grant = {"amount": 100, "reason": "t", "idempotency_key": "g"}
    await client.post(f"/admin/accounts/{me['id']}/grant", json=grant, headers=ADMIN_HEADERS)
    async with client.app[SESSIONMAKER].begin() as session:
        return (await make_dataset(session, me["id"], images=4)).id


def body(dataset_id: int, **extra: Any) -> dict[str, Any]:
    return {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast", **extra}


async def quote_of(client: TestClient, dataset_id: int, **extra: Any) -> dict[str, Any]:
    estimate = await (
        await client.post("/v1/estimate", json=body(dataset_id, **extra), headers=ME)
    ).json()
    assert estimate["ok"] and estimate["quote"]["cost"] == estimate["cost"]
    return dict(estimate["quote"])


async def test_confirm_charges_exactly_the_quoted_price(
    client: TestClient, dataset_id: int
) -> None:
    quote = await quote_of(client, dataset_id)
    job = await client.post(
        "/v1/jobs", json=body(dataset_id, idempotency_key="q1", quote_id=quote["id"]), headers=ME
    )
    assert job.status == 201 and (await job.json())["cost"] == quote["cost"]
    me = await (await client.get("/v1/me", headers=ME)).json()
    assert (me["balance"], me["spent_today"]) == (100 - quote["cost"], quote["cost"])


async def test_an_expired_or_changed_quote_shows_the_new_price_and_charges_nothing(
    client: TestClient, dataset_id: int
) -> None:
    quote = await quote_of(client, dataset_id)
    async with client.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(Quote)
            .where(Quote.id == quote["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    before = await snapshot(client.app[SESSIONMAKER])
    expired = await client.post(
        "/v1/jobs", json=body(dataset_id, idempotency_key="q2", quote_id=quote["id"]), headers=ME
    )
    error = (await expired.json())["error"]
    assert (expired.status, error["code"]) == (409, "QUOTE_EXPIRED")
    fresh = error["details"]["quote"]
    assert (error["details"]["quoted"], error["details"]["cost"], fresh["cost"]) == (
        quote["cost"],
    ) * 3
    assert fresh["id"] != quote["id"]
    assert await snapshot(client.app[SESSIONMAKER]) == before

    # The operator raised the price since the quote (as a changed offerings file would).
    async with client.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(Quote).where(Quote.id == fresh["id"]).values(cost=fresh["cost"] - 1)
        )
    changed = await client.post(
        "/v1/jobs", json=body(dataset_id, idempotency_key="q3", quote_id=fresh["id"]), headers=ME
    )
    error = (await changed.json())["error"]
    assert (changed.status, error["code"], error["details"]["quoted"]) == (
        409,
        "QUOTE_CHANGED",
        fresh["cost"] - 1,
    )
    assert await snapshot(client.app[SESSIONMAKER]) == before
    # Confirming the new price works.
    again = await client.post(
        "/v1/jobs",
        json=body(dataset_id, idempotency_key="q3", quote_id=error["details"]["quote"]["id"]),
        headers=ME,
    )
    assert again.status == 201


async def test_a_quote_is_only_for_its_own_request_and_person(
    client: TestClient, dataset_id: int
) -> None:
    quote = await quote_of(client, dataset_id, overrides={"steps": 40})
    other = await client.post(
        "/v1/jobs", json=body(dataset_id, idempotency_key="q4", quote_id=quote["id"]), headers=ME
    )
    assert (other.status, (await other.json())["error"]["code"]) == (409, "QUOTE_EXPIRED")
    stranger = user_headers("telegram:7302")
    me = await (await client.get("/v1/me", headers=stranger)).json()
    async with client.app[SESSIONMAKER].begin() as session:
        await make_dataset(session, me["id"], images=4)
    theirs = await client.post(
        "/v1/jobs",
        json=body(dataset_id, idempotency_key="q5", quote_id=quote["id"], overrides={"steps": 40}),
        headers=stranger,
    )
    assert theirs.status == 422  # not their dataset, and not their quote either


async def test_the_daily_cap_refuses_what_would_pass_it(
    client: TestClient, dataset_id: int
) -> None:
    cost = (await quote_of(client, dataset_id))["cost"]
    capped = await client.patch("/v1/me", json={"daily_spending_cap": cost + 1}, headers=ME)
    assert (await capped.json())["daily_spending_cap"] == cost + 1
    assert (
        await client.post("/v1/jobs", json=body(dataset_id, idempotency_key="c1"), headers=ME)
    ).status == 201
    estimate = await (await client.post("/v1/estimate", json=body(dataset_id), headers=ME)).json()
    assert not estimate["ok"] and estimate["quote"] is None
    assert [e["code"] for e in estimate["errors"]] == ["DAILY_CAP_REACHED"]
    assert "1 of it is left today" in estimate["errors"][0]["message"]
    before = await snapshot(client.app[SESSIONMAKER])
    refused = await client.post(
        "/v1/jobs", json=body(dataset_id, idempotency_key="c2"), headers=ME
    )
    assert refused.status == 422
    assert await snapshot(client.app[SESSIONMAKER]) == before
    # A refund gives the day's allowance back; removing the cap lifts it.
    job_id = (await (await client.get("/v1/jobs", headers=ME)).json())["jobs"][0]["id"]
    await client.post(f"/v1/jobs/{job_id}/cancel", headers=ME)
    assert (await (await client.get("/v1/me", headers=ME)).json())["spent_today"] == 0
    await client.patch("/v1/me", json={"daily_spending_cap": None}, headers=ME)
    assert (await (await client.post("/v1/estimate", json=body(dataset_id), headers=ME)).json())[
        "ok"
    ]


@pytest.mark.parametrize("cap", [-1, "10", 1.5, True, 10**13])
async def test_a_bad_cap_is_refused_and_changes_nothing(
    client: TestClient, dataset_id: int, cap: Any
) -> None:
    await client.patch("/v1/me", json={"daily_spending_cap": 20}, headers=ME)
    response = await client.patch("/v1/me", json={"daily_spending_cap": cap}, headers=ME)
    assert (response.status, (await response.json())["error"]["code"]) == (400, "INVALID_INPUT")
    assert (await (await client.get("/v1/me", headers=ME)).json())["daily_spending_cap"] == 20


async def test_a_debit_that_crosses_the_threshold_tells_the_person_once(
    client: TestClient, dataset_id: int
) -> None:
    # 100 points, threshold 50: the first jobs keep the balance above it, the crossing one warns.
    costs = []
    for n in range(1, 9):
        answer = await client.post(
            "/v1/jobs", json=body(dataset_id, idempotency_key=f"l{n}"), headers=ME
        )
        if answer.status != 201:
            break
        costs.append((await answer.json())["cost"])
    async with client.app[SESSIONMAKER]() as session:
        rows = list(
            await session.scalars(select(Notification).where(Notification.kind == "low_balance"))
        )
    crossing = next(i for i in range(len(costs)) if 100 - sum(costs[: i + 1]) < 50)
    assert len(rows) == 1
    assert rows[0].payload["balance"] == 100 - sum(costs[: crossing + 1])
    assert (rows[0].platform, rows[0].platform_user_id, rows[0].payload["threshold"]) == (
        "telegram",
        "7301",
        50,
    )
