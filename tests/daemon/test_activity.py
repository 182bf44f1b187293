"""The activity feed over real HTTP, after a known history made through the daemon's own
routes and the job lifecycle: what it lists and how it reads, filters, pages and marks read;
that nobody sees another's items, a replayed event adds nothing, and the outbox is not it."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import activity, lifecycle, purchases
from core.db.models import Account, Activity, Job, Notification
from core.enums import JobKind, JobStatus, NotificationKind, Visibility
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, RPC_HEADERS, make_dataset, user_headers
from tests.daemon.economy import write_economy
from tests.daemon.market import normalized

SMALL_SKU = "1100000000000000001"


@dataclass
class History:
    """Who did what: Ann's two identities, Bob the owner of the public dataset, the jobs."""

    ann: dict[str, str]
    ann_discord: dict[str, str]
    bob: dict[str, str]
    completed: int
    failed: int
    failed_cost: int
    royalty: int
    purchase: int
    dataset_name: str


@pytest.fixture
async def client(
    database_url: str | None, aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> TestClient:
    settings = make_settings(database_url=database_url, economy_file=write_economy(tmp_path))
    return await aiohttp_client(create_app(settings))


async def call(client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any):
    response = await client.request(method, path, headers=headers, **kw)
    return response.status, await response.json()


async def ok(client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any):
    status, body = await call(client, method, path, headers, **kw)
    assert status in (200, 201), (path, body)
    return body


async def feed(client: TestClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    return await ok(client, "GET", "/v1/activity", headers, params=query)


async def _buy(client: TestClient, ann: dict[str, str], ann_dc: dict[str, str], tag: str):
    """Ann pays a Stars order on Telegram; her Discord identity buys the same pack."""
    order = await ok(client, "POST", "/v1/purchases", ann, json={"pack_id": "small"})
    paid = {"charge_id": f"charge-{tag}", "currency": "XTR", "total_amount": 10}
    await ok(client, "POST", f"/v1/purchases/{order['id']}/paid", ann, json=paid)
    entitlement = {"entitlement_id": str(2200000000000000000 + int(tag, 16)), "sku_id": SMALL_SKU}
    await ok(client, "POST", "/v1/purchases/entitlements", ann_dc, json=entitlement)
    return order["id"], paid, entitlement


async def _claim(session: AsyncSession, job_id: int) -> Job:
    """A worker takes this job (PostgreSQL's database is shared: other tests' jobs wait)."""
    others = select(Job.id).where(Job.status == JobStatus.queued, Job.id != job_id)
    skip = frozenset(await session.scalars(others))
    job = await lifecycle.claim_next(session, owner="test", lease_seconds=60, exclude_job_ids=skip)
    assert job is not None and job.id == job_id
    return job


async def _run_jobs(client: TestClient, completed: int, failed: int) -> None:
    """A worker's view: the first job completes with its model; the second fails for good."""
    async with client.app[SESSIONMAKER].begin() as session:
        job = await _claim(session, completed)
        news = {"model_id": 41, "trigger_word": "zqx", "files": []}
        await lifecycle.mark_completed(session, job, NotificationKind.job_completed, news)
    async with client.app[SESSIONMAKER].begin() as session:
        job = await _claim(session, failed)
        await lifecycle.fail_attempt(session, job, "out of memory", max_attempts=1)


@pytest.fixture
async def history(client: TestClient) -> History:
    tag = uuid.uuid4().hex[:8]
    ann, ann_dc = user_headers(f"telegram:ann-{tag}"), user_headers(f"discord:ann-{tag}")
    bob = user_headers(f"discord:bob-{tag}")
    purchase_id, _, _ = await _buy(client, ann, ann_dc, tag)
    me = await ok(client, "GET", "/v1/me", ann)
    grant = {"amount": 1000, "reason": "test", "idempotency_key": f"grant-{tag}"}
    await ok(client, "POST", f"/admin/accounts/{me['id']}/grant", ADMIN_HEADERS, json=grant)
    bob_id = (await ok(client, "GET", "/v1/me", bob))["id"]
    async with client.app[SESSIONMAKER].begin() as session:
        own = await make_dataset(session, me["id"], images=4)
        public = await make_dataset(session, bob_id, images=4, visibility=Visibility.public)
        own_id, public_id, public_name = own.id, public.id, public.name
    jobs = []
    for dataset_id, key in ((own_id, "own"), (public_id, "bobs")):
        body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
        jobs.append(
            await ok(client, "POST", "/v1/jobs", ann, json={**body, "idempotency_key": key})
        )
    await _run_jobs(client, jobs[0]["id"], jobs[1]["id"])
    code = await ok(client, "POST", "/v1/me/link-code", ann, json={})
    await ok(client, "POST", "/v1/me/link", ann_dc, json={"code": code["code"]})
    return History(
        ann,
        ann_dc,
        bob,
        jobs[0]["id"],
        jobs[1]["id"],
        jobs[1]["cost"],
        jobs[1]["cost"] // 2,  # royalty_share 0.5
        purchase_id,
        public_name,
    )


async def test_the_feed_tells_a_known_history_newest_first(
    client: TestClient, history: History
) -> None:
    page = await feed(client, history.ann)
    done, failed = history.completed, history.failed
    assert [(item["kind"], item["title"]) for item in page["items"]] == [
        ("accounts_linked", "Linked your Discord account into this one; 100 points moved over"),
        ("job_failed", f"Training #{failed} failed, {history.failed_cost} points refunded"),
        ("job_started", f"Training #{failed} started"),
        ("job_completed", f"Training #{done} completed: LoRA #41 is ready"),
        ("job_started", f"Training #{done} started"),
        # Bought by the Discord identity before the link: its history joined Ann's.
        ("purchase", "Bought 100 points (small)"),
        ("purchase", "Bought 100 points (small)"),
    ]
    assert (page["unread"], page["next_before"]) == (7, None)
    assert not any(item["read"] for item in page["items"])
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids, reverse=True)
    linked, failed_item = page["items"][0]["payload"], page["items"][1]["payload"]
    assert linked["platforms"] == ["discord"] and linked["moved_points"] == 100
    assert failed_item["refunded"] == history.failed_cost and "reply_to" not in failed_item
    assert page["items"][-1]["payload"]["purchase_id"] == history.purchase

    [earned] = (await feed(client, history.bob))["items"]
    assert earned["kind"] == "royalty_earned"
    assert earned["title"] == (
        f"Earned {history.royalty} points: someone used your dataset “{history.dataset_name}”"
    )
    assert earned["payload"]["job_id"] == history.failed and history.royalty > 0
    assert earned["payload"]["points"] == history.royalty
    # The linked Discord identity reads the same account's feed.
    assert (await feed(client, history.ann_discord))["items"] == page["items"]


async def test_filters_by_kind_and_unread_and_pages_with_next_before(
    client: TestClient, history: History
) -> None:
    jobs = await feed(client, history.ann, kind=["job_started", "job_failed"])
    assert [item["kind"] for item in jobs["items"]] == ["job_failed", "job_started", "job_started"]
    assert jobs["unread"] == 7  # the count is of everything unread, not of the filter

    everything = (await feed(client, history.ann))["items"]
    seen, before = [], None
    while True:
        page = await feed(client, history.ann, limit=3, **({"before": before} if before else {}))
        assert len(page["items"]) <= 3
        seen.extend(page["items"])
        before = page["next_before"]
        if before is None:
            break
        assert before == page["items"][-1]["id"]
    assert seen == everything

    await ok(client, "POST", f"/v1/activity/{everything[0]['id']}/read", history.ann)
    unread = await feed(client, history.ann, unread="true", kind="accounts_linked")
    assert unread["items"] == [] and unread["unread"] == 6
    assert len((await feed(client, history.ann, unread="true"))["items"]) == 6

    for bad in ({"kind": "job_sample"}, {"kind": "nope"}, {"limit": 0}, {"limit": 101}):
        status, body = await call(client, "GET", "/v1/activity", history.ann, params=bad)
        assert (status, body["error"]["code"]) == (400, "INVALID_INPUT"), bad


async def test_marking_read_one_and_all_and_the_unread_count(
    client: TestClient, history: History
) -> None:
    items = (await feed(client, history.ann))["items"]
    path = f"/v1/activity/{items[2]['id']}/read"
    first = await ok(client, "POST", path, history.ann)
    assert first == {**items[2], "read": True}
    assert await ok(client, "POST", path, history.ann) == first  # idempotent
    count = await ok(client, "GET", "/v1/activity/unread-count", history.ann)
    assert count == {"unread": 6}

    marked = await ok(client, "POST", "/v1/activity/read-all", history.ann)
    assert marked == {"marked": 6, "unread": 0}
    assert await ok(client, "POST", "/v1/activity/read-all", history.ann) == {
        "marked": 0,
        "unread": 0,
    }
    assert all(item["read"] for item in (await feed(client, history.ann))["items"])
    # Bob's own feed is his: Ann's read-all left it unread.
    assert await ok(client, "GET", "/v1/activity/unread-count", history.bob) == {"unread": 1}


async def test_another_persons_item_answers_like_a_missing_one(
    client: TestClient, history: History
) -> None:
    [earned] = (await feed(client, history.bob))["items"]
    mine = earned["id"]
    missing = 10**15
    seen = await call(client, "POST", f"/v1/activity/{mine}/read", history.ann)
    absent = await call(client, "POST", f"/v1/activity/{missing}/read", history.ann)
    assert seen[0] == 404 and normalized(seen, mine) == normalized(absent, missing)
    assert (await feed(client, history.bob))["items"][0]["read"] is False
    assert mine not in [item["id"] for item in (await feed(client, history.ann))["items"]]


async def _activity_rows(client: TestClient) -> int:
    async with client.app[SESSIONMAKER]() as session:
        return int(await session.scalar(select(func.count()).select_from(Activity)) or 0)


async def test_a_replayed_event_adds_nothing(client: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    ann, ann_dc = user_headers(f"telegram:rp-{tag}"), user_headers(f"discord:rp-{tag}")
    purchase_id, paid, entitlement = await _buy(client, ann, ann_dc, tag)
    me = await ok(client, "GET", "/v1/me", ann)
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, me["id"], images=4)
        dataset_id = dataset.id
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    job = await ok(client, "POST", "/v1/jobs", ann, json={**body, "idempotency_key": "j"})
    async with client.app[SESSIONMAKER].begin() as session:
        claimed = await _claim(session, job["id"])
        await lifecycle.mark_completed(session, claimed, NotificationKind.job_completed, {})
    before = await _activity_rows(client)

    # The payment, the entitlement, the job request and the completion, all once more.
    await ok(client, "POST", f"/v1/purchases/{purchase_id}/paid", ann, json=paid)
    await ok(client, "POST", "/v1/purchases/entitlements", ann_dc, json=entitlement)
    await ok(client, "POST", "/v1/jobs", ann, json={**body, "idempotency_key": "j"})
    async with client.app[SESSIONMAKER].begin() as session:
        again = await session.get(Job, job["id"])
        assert again is not None
        await lifecycle.mark_completed(session, again, NotificationKind.job_completed, {})
    assert await _activity_rows(client) == before
    kinds = [item["kind"] for item in (await feed(client, ann))["items"]]
    assert kinds == ["job_completed", "job_started", "purchase"]


async def test_the_feed_survives_the_outbox_being_acked_and_pruned(
    client: TestClient, history: History
) -> None:
    before = await feed(client, history.ann)
    for platform in ("telegram", "discord"):
        pending = await ok(
            client, "GET", "/v1/notifications", RPC_HEADERS, params={"platform": platform}
        )
        ids = [n["id"] for n in pending["notifications"]]
        acked = await ok(client, "POST", "/v1/notifications/ack", RPC_HEADERS, json={"ids": ids})
        assert acked["acknowledged"] == len(ids)
    assert await feed(client, history.ann) == before
    async with client.app[SESSIONMAKER].begin() as session:
        await session.execute(delete(Notification))
    assert await feed(client, history.ann) == before


async def test_a_purchase_refund_and_a_low_balance_are_in_the_feed(client: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    ann = user_headers(f"telegram:lb-{tag}")
    order = await ok(client, "POST", "/v1/purchases", ann, json={"pack_id": "small"})
    paid = {"charge_id": f"charge-{tag}", "currency": "XTR", "total_amount": 10}
    await ok(client, "POST", f"/v1/purchases/{order['id']}/paid", ann, json=paid)
    async with client.app[SESSIONMAKER].begin() as session:
        await purchases.begin_refund(session, order["id"])
    async with client.app[SESSIONMAKER].begin() as session:
        await purchases.finish_refund(session, order["id"], error=None)
    refunded = (await feed(client, ann))["items"][0]
    assert (refunded["kind"], refunded["title"]) == (
        "purchase_refunded",
        f"Purchase #{order['id']} refunded: 100 points taken back",
    )

    me = await ok(client, "GET", "/v1/me", ann)
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, me["id"], images=4)
        dataset_id = dataset.id
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    cost = (await ok(client, "POST", "/v1/estimate", ann, json=body))["cost"]
    # Low below 50 points (the economy file's threshold), from 49 points above it.
    grant = {"amount": cost + 49, "reason": "test", "idempotency_key": f"g-{tag}"}
    await ok(client, "POST", f"/admin/accounts/{me['id']}/grant", ADMIN_HEADERS, json=grant)
    job = await ok(client, "POST", "/v1/jobs", ann, json={**body, "idempotency_key": "low"})
    low = (await feed(client, ann, kind="low_balance"))["items"]
    assert [item["title"] for item in low] == ["Low balance: 49 points left (below 50)"]
    assert low[0]["payload"] == {"balance": 49, "threshold": 50, "job_id": job["id"]}


def _free_job(account_id: int, kind: JobKind) -> Job:
    return Job(
        account_id=account_id,
        kind=kind,
        offering_id="tiny-lora",
        preset="fast",
        params={},
        overrides={},
        cost=0,
        idempotency_key=f"{kind}-{uuid.uuid4().hex}",
        request_hash="h",
        reply_to={},
    )


async def test_captions_and_generations_are_told_by_their_result_alone(
    client: TestClient,
) -> None:
    # An account without any chat identity: nobody is notified, its history is kept anyway.
    async with client.app[SESSIONMAKER].begin() as session:
        account = Account(balance=0)
        session.add(account)
        await session.flush()
        jobs = [_free_job(account.id, kind) for kind in (JobKind.caption, JobKind.generate)]
        session.add_all(jobs)
        await session.flush()
        account_id, caption, generation = account.id, jobs[0].id, jobs[1].id
    told = {
        caption: (NotificationKind.captions_ready, {"dataset_id": 5, "written": 3}),
        generation: (NotificationKind.generation_ready, {"model_id": 8, "images": ["a", "b"]}),
    }
    for job_id, (kind, payload) in told.items():
        async with client.app[SESSIONMAKER].begin() as session:
            await lifecycle.mark_completed(session, await _claim(session, job_id), kind, payload)
    async with client.app[SESSIONMAKER]() as session:
        page = await activity.feed(session, account_id)
        notified = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.account_id == account_id)
        )
    assert [(event.kind, event.title) for event in page.items] == [
        ("generation_ready", f"Generation #{generation} finished: 2 images ready with LoRA #8"),
        ("captions_ready", f"Captioning #{caption} finished: 3 captions written in dataset #5"),
    ]
    assert notified == 0
