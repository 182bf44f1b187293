"""The job state machine and the notification outbox on a real SQLite database (no workers)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import lifecycle, notifications
from core.db.models import Job, JobMetric, LedgerEntry
from core.db.types import utcnow
from core.enums import JobStatus, NotificationKind
from core.errors import Conflict
from core.ledger import balance
from core.queue_standing import QueueStanding, queue_standing
from core.worker_protocol import Progress
from tests.conftest import make_account, make_dataset

Maker = async_sessionmaker[AsyncSession]


async def queued_job(session: AsyncSession, account_id: int, cost: int = 100) -> Job:
    dataset = await make_dataset(session, account_id, images=4)
    job = Job(
        account_id=account_id,
        dataset_id=dataset.id,
        offering_id="tiny-lora",
        preset="fast",
        params={"steps": 10},
        overrides={},
        cost=cost,
        idempotency_key=f"k{dataset.id}",
        request_hash="h",
        platform="telegram",
        platform_user_id="1",
        reply_to={},
        total_steps=10,
    )
    session.add(job)
    await session.flush()
    return job


async def test_claims_are_fifo_but_one_running_job_per_account_while_others_wait(
    db: Maker,
) -> None:
    async with db.begin() as session:
        a = await make_account(session)
        b = await make_account(session)
        a1, a2 = await queued_job(session, a.id), await queued_job(session, a.id)
        b1 = await queued_job(session, b.id)
    async with db.begin() as session:
        first = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        second = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        third = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        none = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
    assert first and second and third and none is None
    assert [first.id, second.id, third.id] == [a1.id, b1.id, a2.id]
    assert (first.status, first.fencing_token, first.attempts) == ("preparing", 1, 1)


async def test_accounts_take_turns_so_nobody_waits_behind_a_whole_backlog(db: Maker) -> None:
    async with db.begin() as session:
        a, b, c = [await make_account(session) for _ in range(3)]
        a_jobs = [await queued_job(session, a.id) for _ in range(3)]
        b_jobs = [await queued_job(session, b.id) for _ in range(3)]
        c_job = await queued_job(session, c.id)  # queued last, behind six others
    order = []
    for _ in range(7):  # one slot: each claimed job finishes before the next claim
        async with db.begin() as session:
            job = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
            assert job is not None
            order.append(job.id)
            job.status = JobStatus.completed
    a1, a2, a3 = (job.id for job in a_jobs)
    b1, b2, b3 = (job.id for job in b_jobs)
    assert order == [a1, b1, c_job.id, a2, b2, a3, b3]


async def test_stale_attempts_are_fenced_off(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session, balance=100)
        job = await queued_job(session, account.id)
    async with db.begin() as session:
        claimed = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        assert claimed is not None
        old = lifecycle.attempt_of(claimed)
        await lifecycle.fail_attempt(session, claimed, "boom", max_attempts=3)
        again = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        assert again is not None and again.fencing_token == old.fencing_token + 1
    report = Progress(stage="training", step=3, total_steps=10, loss=0.5, lr=1e-3)
    async with db.begin() as session:
        assert await lifecycle.record_progress(session, old, [report], lease_seconds=30) is None
        fresh = lifecycle.Attempt(job.id, again.fencing_token)
        updated = await lifecycle.record_progress(session, fresh, [report], lease_seconds=30)
        assert updated is not None and updated.status == "training" and updated.step == 3
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(JobMetric)) == 1


async def test_failing_after_the_last_attempt_refunds_in_full_exactly_once(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session, balance=100)
        job = await queued_job(session, account.id, cost=40)
    for _ in range(2):
        async with db.begin() as session:
            claimed = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
            assert claimed is not None
            await lifecycle.fail_attempt(session, claimed, "boom", max_attempts=2)
    async with db.begin() as session:
        failed = await session.get(Job, job.id)
        assert failed is not None and failed.status == "failed" and failed.refunded == 40
        # A replayed settlement (e.g. after a crash) cannot pay twice.
        await lifecycle.refund(session, failed, 40)
        assert await balance(session, account.id) == 140
        refunds = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "refund")
        )
        assert refunds == 1


async def test_cancel_while_running_refunds_the_unused_share_rounded_down(db: Maker) -> None:
    assert lifecycle.unused_share(100, 3, 7) == 57  # 100 * 4 / 7 = 57.1 → 57
    assert lifecycle.unused_share(100, 0, 0) == 100
    async with db.begin() as session:
        account = await make_account(session, balance=0)
        await queued_job(session, account.id, cost=100)
    async with db.begin() as session:
        job = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        assert job is not None
        job.step = 3
        refunded = await lifecycle.cancel(session, job)
    assert refunded == 70 and job.status == "cancelled" and job.cancel_requested


async def test_expired_leases_are_reaped_and_orphans_requeued(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        other = await make_account(session)
        await queued_job(session, account.id)
        await queued_job(session, other.id)
    async with db.begin() as session:
        stale = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        orphan = await lifecycle.claim_next(session, owner="old-daemon", lease_seconds=30)
        assert stale and orphan
        stale.lease_expires_at = utcnow() - timedelta(seconds=1)
    async with db.begin() as session:
        ended = await lifecycle.reap_expired(session, stall_seconds=600, max_attempts=3)
        requeued = await lifecycle.requeue_orphans(session, owner="d")
    assert ended == [lifecycle.Attempt(stale.id, 1)]
    assert requeued == [lifecycle.Attempt(orphan.id, 1)]
    async with db() as session:
        statuses = {j.id: (j.status, j.attempts) for j in await session.scalars(select(Job))}
    assert statuses == {stale.id: ("queued", 1), orphan.id: ("queued", 0)}


async def test_undeliverable_notification_is_served_no_more(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        job = await queued_job(session, account.id)
        await notifications.notify_job(session, job, NotificationKind.job_started, {})
    now = utcnow()
    for attempt in range(3):
        async with db.begin() as session:
            at = now + timedelta(seconds=61 * attempt)
            rows = await notifications.fetch_pending(
                session, "telegram", lease_seconds=60, max_deliveries=3, now=at
            )
            assert len(rows) == 1  # the bot fails each time and never acknowledges
    async with db.begin() as session:
        at = now + timedelta(seconds=61 * 3)
        assert (
            await notifications.fetch_pending(
                session, "telegram", lease_seconds=60, max_deliveries=3, now=at
            )
            == []
        )
        expired = await notifications.platforms_with_expired_leases(
            session, max_deliveries=3, now=at
        )
        assert expired == set()


async def test_notifications_dedupe_lease_and_acknowledge(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        job = await queued_job(session, account.id)
        first = await notifications.notify_job(session, job, NotificationKind.job_started, {})
        same = await notifications.notify_job(session, job, NotificationKind.job_started, {})
        assert first is not None and same is not None and first.id == same.id
    now = utcnow()
    async with db.begin() as session:
        got = await notifications.fetch_pending(session, "telegram", lease_seconds=60, now=now)
        leased = await notifications.fetch_pending(session, "telegram", lease_seconds=60, now=now)
        discord = await notifications.fetch_pending(session, "discord", lease_seconds=60, now=now)
    assert [n.id for n in got] == [first.id] and leased == [] and discord == []
    later = now + timedelta(seconds=61)
    async with db.begin() as session:
        assert await notifications.platforms_with_expired_leases(session, now=later) == {
            "telegram"
        }
        again = await notifications.fetch_pending(session, "telegram", lease_seconds=60, now=later)
        assert [n.deliveries for n in again] == [2]
        assert await notifications.acknowledge(session, [first.id]) == 1
        assert await notifications.acknowledge(session, [first.id]) == 0
    async with db.begin() as session:
        far = later + timedelta(hours=1)
        assert (
            await notifications.fetch_pending(session, "telegram", lease_seconds=60, now=far) == []
        )


async def test_queue_standing_spreads_the_work_ahead_over_the_slots(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        jobs = [await queued_job(session, account.id) for _ in range(3)]
        for job in jobs:
            job.estimated_seconds = 10.0
        running = await lifecycle.claim_next(session, owner="d", lease_seconds=30)
        assert running is not None
        running.eta_seconds = 4.0
        assert await queue_standing(session, running, slots=1) == QueueStanding()
        assert await queue_standing(session, jobs[1], slots=1) == QueueStanding(1, 4.0)
        assert await queue_standing(session, jobs[2], slots=2) == QueueStanding(2, 7.0)
        # A job submitted now waits behind both queued jobs of its account...
        now = await queue_standing(session, None, slots=2, account_id=account.id)
        assert (now.position, now.ahead, now.starts_in_seconds) == (3, 2, (4.0 + 20.0) / 2)
        # ...and another account's first job only behind the first of them (turns).
        other = await make_account(session)
        first = await queue_standing(session, None, slots=2, account_id=other.id)
        assert (first.position, first.starts_in_seconds) == (2, (4.0 + 10.0) / 2)


async def test_cancel_and_requeue_follow_the_refund_rules(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session, balance=0)
        queued = await queued_job(session, account.id, cost=30)
        failed = await queued_job(session, account.id, cost=20)
    async with db.begin() as session:
        job = await session.get(Job, queued.id)
        assert job is not None
        assert await lifecycle.cancel(session, job) == 30
        assert (job.status, job.stage, job.refunded) == (JobStatus.cancelled, "cancelled", 30)
        with pytest.raises(Conflict) as finished:
            await lifecycle.cancel(session, job)
        assert finished.value.code == "JOB_FINISHED"
        with pytest.raises(Conflict) as refunded:
            lifecycle.requeue(job)
        assert refunded.value.code == "REQUEUE_REFUNDED"
        other = await session.get(Job, failed.id)
        assert other is not None
        with pytest.raises(Conflict) as waiting:
            lifecycle.requeue(other)
        assert waiting.value.code == "JOB_NOT_REQUEUABLE"
        # Failed without a refund (e.g. settled by hand): an operator may run it again.
        other.status, other.attempts, other.error = JobStatus.failed, 3, "boom"
        lifecycle.requeue(other)
        assert (other.status, other.attempts, other.error) == (JobStatus.queued, 0, None)
        assert other.fencing_token == 1
    async with db() as session:
        assert await balance(session, account.id) == 30
