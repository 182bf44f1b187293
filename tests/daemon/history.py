"""A known history of one person's uploads, jobs, purchases and royalties, made through the
real routes and domain calls (backdated where a test needs other days), for the analytics and
cost suites and the bots' `/stats` and `/spending`."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import lifecycle
from core.date_ranges import today
from core.db.models import Image, Job, LedgerEntry
from core.economy import MarketRules
from core.enums import JobStatus, NotificationKind
from core.purchases import begin_refund
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, job_body, make_dataset, user_headers
from tests.imagefactory import png_bytes

Maker = async_sessionmaker[AsyncSession]
# The economy file of `tests.daemon.economy`: half of an item's price is its owner's.
ROYALTY = MarketRules(royalty_share=0.5)
UPLOADED_CAPTIONS = {"a.png": "cat, Sofa", "b.png": " Cat , garden", "c.png": "cat", "d.png": ""}


@dataclass
class History:
    """What was made, and the figures the routes must answer with."""

    who: str
    other: str
    today: date
    account_id: int
    uploaded_id: int  # private, 4 uploaded images, 5 trainings and 1 caption job on it
    published_id: int  # public, 4 images captioned "dog, Garden"; one paid use by another
    training_cost: int  # each of the 5 trainings
    caption_cost: int
    caption_offering: str
    royalty: int  # earned from the other person's training on the public dataset
    image_bytes: int


def at(day: date, hour: int = 10) -> datetime:
    """A moment of a UTC day."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def _call(client: TestClient, method: str, path: str, who: str, **kw: Any) -> Any:
    response = await client.request(method, path, headers=user_headers(who), **kw)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def _grant(client: TestClient, who: str, amount: int) -> int:
    account_id = (await _call(client, "GET", "/v1/me", who))["id"]
    body = {"amount": amount, "reason": "test", "idempotency_key": f"grant-{who}"}
    granted = await client.post(
        f"/admin/accounts/{account_id}/grant", json=body, headers=ADMIN_HEADERS
    )
    assert granted.status in (200, 201)
    return int(account_id)


async def _buy(client: TestClient, who: str, pack: str, stars: int, charge: str) -> int:
    order = await _call(client, "POST", "/v1/purchases", who, json={"pack_id": pack})
    paid = {"charge_id": charge, "currency": "XTR", "total_amount": stars}
    await _call(client, "POST", f"/v1/purchases/{order['id']}/paid", who, json=paid)
    return int(order["id"])


async def _upload(client: TestClient, who: str) -> int:
    created = await _call(client, "POST", "/v1/datasets", who, json={"name": "Uploaded"})
    form = FormData()
    for seed, name in enumerate(UPLOADED_CAPTIONS):
        form.add_field("image", png_bytes(seed=seed + 1), filename=name)
    form.add_field("captions", json.dumps(UPLOADED_CAPTIONS), content_type="application/json")
    added = await _call(client, "POST", f"/v1/datasets/{created['id']}/images", who, data=form)
    assert len(added["added"]) == 4
    return int(created["id"])


async def _backdate(maker: Maker, job_id: int, day: date) -> None:
    """Move a job and its debit to `day`, as if they were made then."""
    async with maker.begin() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(created_at=at(day, 9)))
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.reference == f"job:{job_id}")
            .values(created_at=at(day, 9))
        )


async def _claim(session: AsyncSession, job_id: int, now: datetime | None = None) -> Job:
    """A worker's claim of this job (others queued, by earlier tests too, are passed over)."""
    others = await session.scalars(
        select(Job.id).where(Job.status == JobStatus.queued, Job.id != job_id)
    )
    job = await lifecycle.claim_next(
        session, owner="test", lease_seconds=600, exclude_job_ids=frozenset(others), now=now
    )
    assert job is not None and job.id == job_id
    return job


async def _run(
    session: AsyncSession, job_id: int, *, start: datetime, seconds: float, ok: bool
) -> None:
    """Claim the job, then complete or fail it."""
    job = await _claim(session, job_id, start)
    end = start + timedelta(seconds=seconds)
    if ok:
        await lifecycle.mark_completed(session, job, NotificationKind.job_completed, {}, now=end)
    else:
        await lifecycle.fail_attempt(session, job, "out of memory", max_attempts=1, now=end)


async def make_history(client: TestClient, who: str, other: str) -> History:
    """The history (see `History`); `other` trains once on `who`'s public dataset."""
    maker: Maker = client.app[SESSIONMAKER]
    day = today()
    account_id = await _grant(client, who, 1000)
    big = await _buy(client, who, "big", 90, f"{who}-big")
    async with maker.begin() as session:  # bought 40 days ago: in the previous 30 days
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.reference == f"purchase:{big}")
            .values(created_at=at(day - timedelta(days=40)))
        )
    await _buy(client, who, "small", 10, f"{who}-small-1")
    refunded = await _buy(client, who, "small", 10, f"{who}-small-2")
    async with maker.begin() as session:
        await begin_refund(session, refunded)

    uploaded = await _upload(client, who)
    jobs = [
        await _call(client, "POST", "/v1/jobs", who, json=job_body(uploaded, key=f"t{n}"))
        for n in range(1, 5)
    ]
    t1, t2, t3, t4 = (job["id"] for job in jobs)
    async with maker.begin() as session:
        await _run(session, t1, start=at(day - timedelta(days=2)), seconds=90, ok=True)
        await _run(session, t2, start=at(day - timedelta(days=1)), seconds=30, ok=True)
        await _run(session, t3, start=at(day, 0), seconds=5, ok=False)
    await _backdate(maker, t1, day - timedelta(days=2))
    await _backdate(maker, t2, day - timedelta(days=1))
    await _call(client, "POST", f"/v1/jobs/{t4}/cancel", who, json={})
    captions = await _call(
        client, "POST", f"/v1/datasets/{uploaded}/captions", who,
        json={"images": "all", "idempotency_key": "c1"},
    )  # fmt: skip
    async with maker.begin() as session:
        job = await _claim(session, captions["id"])
        await lifecycle.mark_completed(session, job, NotificationKind.captions_ready, {})
    await _call(client, "POST", "/v1/jobs", who, json=job_body(uploaded, key="t5"))  # queued

    async with maker.begin() as session:
        published = await make_dataset(session, account_id, images=4, caption="dog, Garden")
    licence = {"visibility": "public", "licence": "CC0-1.0"}
    await _call(client, "PATCH", f"/v1/datasets/{published.id}", who, json=licence)
    await _grant(client, other, 1000)
    used = await _call(client, "POST", "/v1/jobs", other, json=job_body(published.id))
    async with maker() as session:
        image_bytes = await session.scalar(
            select(func.sum(Image.byte_size)).where(Image.account_id == account_id)
        )
    return History(
        who=who,
        other=other,
        today=day,
        account_id=account_id,
        uploaded_id=uploaded,
        published_id=published.id,
        training_cost=jobs[0]["cost"],
        caption_cost=captions["cost"],
        caption_offering=captions["offering_id"],
        royalty=ROYALTY.royalty(used["cost"]),
        image_bytes=int(image_bytes or 0),
    )
