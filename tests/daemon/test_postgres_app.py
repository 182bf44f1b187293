"""The same routes on PostgreSQL: account, grant, estimate, submit, cancel, stats, link."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, make_dataset, user_headers

pytestmark = pytest.mark.postgres


async def test_money_flow_over_http_on_postgres(
    aiohttp_client: Any, make_settings: Any, postgres_url: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(database_url=postgres_url)))
    maker: async_sessionmaker[AsyncSession] = client.app[SESSIONMAKER]
    me = await (await client.get("/v1/me", headers=user_headers("telegram:pg1"))).json()
    for _ in range(2):
        await client.post(
            f"/admin/accounts/{me['id']}/grant",
            json={"amount": 20, "reason": "pg", "idempotency_key": "pg-grant"},
            headers=ADMIN_HEADERS,
        )
    async with maker.begin() as session:
        dataset = await make_dataset(session, me["id"], images=5, caption="")
    body = {"dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast"}
    estimate = await (
        await client.post("/v1/estimate", json=body, headers=user_headers("telegram:pg1"))
    ).json()
    assert estimate["ok"] and [w["code"] for w in estimate["warnings"]] == [
        "FEW_IMAGES",
        "UNCAPTIONED_IMAGES",
    ]
    submitted = await client.post(
        "/v1/jobs",
        json={**body, "idempotency_key": "pg-job"},
        headers=user_headers("telegram:pg1"),
    )
    job = await submitted.json()
    assert (submitted.status, job["queue_position"]) == (201, 1)
    cancelled = await (
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers("telegram:pg1"))
    ).json()
    assert cancelled["refunded_now"] == 7
    stats = await (await client.get("/admin/stats", headers=ADMIN_HEADERS)).json()
    assert stats["jobs_by_status"]["cancelled"] >= 1
    ledger = await (await client.get("/v1/ledger", headers=user_headers("telegram:pg1"))).json()
    assert ledger["balance"] == 20 == sum(e["delta"] for e in ledger["entries"])
    code = await (
        await client.post("/v1/me/link-code", headers=user_headers("telegram:pg1"))
    ).json()
    linked = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("discord:pg1")
    )
    assert linked.status == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'lorabot_ledger_points{kind="refund"}' in metrics
