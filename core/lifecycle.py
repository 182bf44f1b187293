"""The job state machine: every change of a job's status happens here, and only here.

    queued → preparing → training → finishing → completed
       ↑          └──────────┴──────────┴────→ failed (after the last attempt) | cancelled
       └── retry (attempts left), orphan requeue (daemon restart), operator requeue

The same for every job kind (`JobKind`: train, caption, generate); what a kind produces is
recorded by its handler before `mark_completed`.

Transitions: `claim_next` (queued → preparing), `record_progress` (between the running
stages), `mark_completed`, `fail_attempt` (retry or fail), `cancel`, `keep_checkpoint` (a
training ends completed at a saved checkpoint), `requeue` (operators), `reap_expired` (lost
or stalled workers) and `requeue_orphans` (jobs of an earlier daemon).

Only the daemon calls these, inside one transaction each; a report names the attempt it
belongs to (job id + fencing token) and is ignored when a newer attempt holds the job.

Refund rules (one ledger entry keyed `refund:job:<id>`, so never twice; the royalties the job
paid are reversed by the same share in the same transaction, see `core.royalties`):
- failed after the last attempt, or cancelled while queued: the full cost;
- cancelled while running: the unused share of steps, rounded down —
  `refund = cost * (total_steps - steps_done) // total_steps` (the used share rounds up);
- kept at a checkpoint ("Keep this one"): the same rule with the checkpoint's step as
  `steps_done`, whatever the worker has run since.

Requeue (operators, failed/cancelled jobs) is allowed only while nothing was refunded: a
refund is keyed once per job, so a refunded job that ran again could never be refunded a
second time; such a job is refused with 409 `REQUEUE_REFUNDED` and the user submits anew.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core import royalties
from core.db.models import Job, JobMetric
from core.db.types import utcnow
from core.enums import RUNNING_STATUSES, JobKind, JobStatus, LedgerKind, NotificationKind
from core.errors import Conflict
from core.ledger import lock_accounts, post_entry
from core.notifications import notify_job
from core.worker_protocol import Progress

RUNNING = sorted(RUNNING_STATUSES)
STAGES = {str(status): status for status in RUNNING_STATUSES}
REQUEUABLE = frozenset({JobStatus.failed, JobStatus.cancelled})
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Attempt:
    """One run of a job by one worker; `fencing_token` tells it from older runs."""

    job_id: int
    fencing_token: int


def attempt_of(job: Job) -> Attempt:
    """The attempt that currently holds the job."""
    return Attempt(job.id, job.fencing_token)


async def claim_next(
    session: AsyncSession,
    *,
    owner: str,
    lease_seconds: float,
    exclude_job_ids: frozenset[int] = frozenset(),
    now: datetime | None = None,
) -> Job | None:
    """Take the next queued job for a new attempt, fairly across accounts; None when idle.

    Accounts take turns: the next job is the oldest queued one of the account whose last
    start is oldest (an account never started goes first), so nobody waits behind another's
    whole backlog; and an account with a running job waits while other accounts' jobs are
    queued: it gets a second slot only when nobody else is waiting.
    """
    now = now or utcnow()
    busy = select(Job.account_id).where(Job.status.in_(RUNNING))
    started = aliased(Job)
    last_start = (
        select(func.max(started.started_at))
        .where(started.account_id == Job.account_id)
        .scalar_subquery()
    )
    queued = (
        select(Job.id)
        .where(Job.status == JobStatus.queued)
        .order_by(last_start.asc().nulls_first(), Job.id)
        .limit(1)
    )
    if exclude_job_ids:
        queued = queued.where(Job.id.not_in(exclude_job_ids))
    job_id = await session.scalar(queued.where(Job.account_id.not_in(busy)))
    if job_id is None:
        job_id = await session.scalar(queued)
    if job_id is None:
        return None
    claimed = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(
            status=JobStatus.preparing,
            stage="preparing",
            fencing_token=Job.fencing_token + 1,
            attempts=Job.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            last_progress_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    job = await _load(session, job_id)
    if job.started_at is None:
        job.started_at = now
        if job.kind == JobKind.train:
            # Captions and generations take seconds: their result is the first news.
            await notify_job(session, job, NotificationKind.job_started, {"attempt": job.attempts})
    if not job.total_steps:
        job.total_steps = int(job.params.get("steps", 0))
    return job


async def current(session: AsyncSession, attempt: Attempt) -> Job | None:
    """The job if this attempt still holds it (running, same fencing token), else None."""
    job = await session.scalar(
        select(Job)
        .where(Job.id == attempt.job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if job is None or job.fencing_token != attempt.fencing_token or job.status not in RUNNING:
        return None
    return job


async def renew_lease(
    session: AsyncSession, attempt: Attempt, *, lease_seconds: float, now: datetime | None = None
) -> Job | None:
    """Extend the attempt's lease (a heartbeat); None when the attempt is stale."""
    job = await current(session, attempt)
    if job is not None:
        job.lease_expires_at = (now or utcnow()) + timedelta(seconds=lease_seconds)
    return job


async def record_progress(
    session: AsyncSession,
    attempt: Attempt,
    reports: list[Progress],
    *,
    lease_seconds: float,
    now: datetime | None = None,
) -> Job | None:
    """Apply the worker's progress reports in order; store loss points; renew the lease."""
    now = now or utcnow()
    job = await renew_lease(session, attempt, lease_seconds=lease_seconds, now=now)
    if job is None or not reports:
        return job
    points: dict[int, tuple[float, float | None]] = {}
    for report in reports:
        job.status = STAGES[report.stage]
        job.stage = report.stage
        job.step = report.step or job.step
        job.total_steps = report.total_steps or job.total_steps
        if report.loss is not None:
            job.loss = report.loss
            if report.stage == "training" and job.step > 0:
                points[job.step] = (report.loss, report.lr)
        job.eta_seconds = report.eta_seconds
    job.last_progress_at = now
    await _store_points(session, job.id, points)
    return job


async def _store_points(
    session: AsyncSession, job_id: int, points: dict[int, tuple[float, float | None]]
) -> None:
    if not points:
        return
    # A resumed attempt reports steps again from its checkpoint: the newest value wins.
    existing = {
        metric.step: metric
        for metric in await session.scalars(
            select(JobMetric).where(JobMetric.job_id == job_id, JobMetric.step.in_(list(points)))
        )
    }
    for step, (loss, lr) in sorted(points.items()):
        if step in existing:
            existing[step].loss, existing[step].lr = loss, lr
        else:
            session.add(JobMetric(job_id=job_id, step=step, loss=loss, lr=lr))
    await session.flush()


async def mark_completed(
    session: AsyncSession,
    job: Job,
    notification: NotificationKind,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """End a job with what it produced (`payload`, told to the user); the debit stands."""
    _finish(job, JobStatus.completed, now)
    job.step = job.total_steps or job.step
    job.eta_seconds = 0.0
    await notify_job(session, job, notification, payload)


async def fail_attempt(
    session: AsyncSession,
    job: Job,
    error: str,
    *,
    max_attempts: int,
    retryable: bool = True,
    now: datetime | None = None,
) -> Job:
    """End the current attempt: requeue (resuming from its checkpoint) or fail and refund."""
    job.error = error[:MAX_ERROR_CHARS]
    if retryable and job.attempts < max_attempts and not job.cancel_requested:
        job.status = JobStatus.queued
        job.stage = "waiting to retry"
        job.lease_owner = None
        job.lease_expires_at = None
        job.eta_seconds = None
        return job
    _finish(job, JobStatus.failed, now)
    refunded = await refund(session, job, job.cost)
    await notify_job(
        session,
        job,
        NotificationKind.job_failed,
        {"error": job.error, "refunded": refunded, "attempts": job.attempts},
    )
    return job


def unused_share(cost: int, steps_done: int, total_steps: int) -> int:
    """Points for the steps not run, rounded down (so the used share rounds up)."""
    if total_steps <= 0:
        return cost
    done = min(max(steps_done, 0), total_steps)
    return cost * (total_steps - done) // total_steps


def ensure_unfinished(job: Job) -> None:
    """A job in a final status changes no more: a conflict (409 JOB_FINISHED)."""
    if job.status.is_final:
        raise Conflict(
            f"job {job.id} is already {job.status}", code="JOB_FINISHED", status=job.status
        )


async def cancel(
    session: AsyncSession, job: Job, *, reason: str = "cancelled", now: datetime | None = None
) -> int:
    """Cancel a job by the refund rules (queued: all of it; running: the unused share).

    A job in a final status is a conflict (JOB_FINISHED). Returns the points refunded.
    """
    ensure_unfinished(job)
    if job.status.is_running:
        return await _cancel_running(session, job, reason=reason, now=now)
    _finish(job, JobStatus.cancelled, now)
    job.error = reason
    refunded = await refund(session, job, job.cost)
    await notify_job(session, job, NotificationKind.job_cancelled, {"refunded": refunded})
    return refunded


async def _cancel_running(
    session: AsyncSession, job: Job, *, reason: str, now: datetime | None
) -> int:
    """Cancel a job a worker holds: settle the unused share now; the dispatcher stops it."""
    total = job.total_steps or int(job.params.get("steps", 0))
    amount = unused_share(job.cost, job.step, total)
    job.cancel_requested = True
    # A new token fences the running attempt: whatever it still reports is ignored.
    job.fencing_token += 1
    _finish(job, JobStatus.cancelled, now)
    job.error = reason
    refunded = await refund(session, job, amount)
    await notify_job(
        session,
        job,
        NotificationKind.job_cancelled,
        {"refunded": refunded, "steps_done": job.step, "total_steps": total},
    )
    return refunded


async def keep_checkpoint(
    session: AsyncSession, job: Job, step: int, payload: dict[str, Any]
) -> int:
    """End a training at its saved checkpoint `step`, whose model the caller registered.

    The unused share past `step` is refunded, the running attempt fenced (the dispatcher
    stops its worker) and the job completed; `payload` (the model) is told with `kept_step`.
    A job in a final status is a conflict (JOB_FINISHED). Returns the points refunded.
    """
    ensure_unfinished(job)
    total = job.total_steps or int(job.params.get("steps", 0))
    # A new token fences the running attempt: whatever it still reports is ignored.
    job.fencing_token += 1
    refunded = await refund(session, job, unused_share(job.cost, step, total))
    _finish(job, JobStatus.completed, None)
    job.step, job.eta_seconds = step, 0.0
    told = {**payload, "kept_step": step, "refunded": refunded}
    await notify_job(session, job, NotificationKind.job_completed, told)
    return refunded


def requeue(job: Job) -> None:
    """Put a failed or cancelled job back in the queue (operators); see the module's rules."""
    if job.status not in REQUEUABLE:
        raise Conflict(
            f"only failed or cancelled jobs can be requeued; job {job.id} is {job.status}",
            code="JOB_NOT_REQUEUABLE",
        )
    if job.refunded:
        raise Conflict(
            f"job {job.id} was refunded {job.refunded} points; a refunded job cannot run again "
            "(its refund is settled once) — the user should submit a new job",
            code="REQUEUE_REFUNDED",
            refunded=job.refunded,
        )
    job.status = JobStatus.queued
    job.stage = "requeued by an operator"
    job.attempts = 0
    job.error = None
    job.cancel_requested = False
    job.finished_at = None
    # Fences off anything an earlier attempt might still report.
    job.fencing_token += 1
    job.lease_owner = None
    job.lease_expires_at = None


async def refund(session: AsyncSession, job: Job, amount: int) -> int:
    """Give `amount` points of a job back, at most once per job whatever happens.

    The royalties the job paid owners of others' items give back the same share, in this
    transaction (`core.royalties`).
    """
    if amount <= 0:
        return 0
    uses = await royalties.uses_of(session, job.id)
    await lock_accounts(session, [job.account_id, *(use.owner_id for use in uses)])
    await post_entry(
        session,
        account_id=job.account_id,
        delta=amount,
        kind=LedgerKind.refund,
        idempotency_key=f"refund:job:{job.id}",
        reference=f"job:{job.id}",
    )
    job.refunded = amount
    await royalties.reverse_uses(session, job, uses, amount)
    return amount


async def reap_expired(
    session: AsyncSession,
    *,
    stall_seconds: float,
    max_attempts: int,
    now: datetime | None = None,
) -> list[Attempt]:
    """End attempts whose lease expired or that made no progress for too long."""
    now = now or utcnow()
    stale = await session.scalars(
        select(Job)
        .where(Job.status.in_(RUNNING))
        .where(
            (Job.lease_expires_at <= now)
            | (Job.last_progress_at <= now - timedelta(seconds=stall_seconds))
        )
        .order_by(Job.id)
        .with_for_update()
    )
    ended: list[Attempt] = []
    for job in list(stale):
        ended.append(attempt_of(job))
        expired = job.lease_expires_at is not None and job.lease_expires_at <= now
        error = (
            "the worker stopped answering (lease expired)"
            if expired
            else f"no training progress for {stall_seconds:.0f} seconds"
        )
        await fail_attempt(session, job, error, max_attempts=max_attempts, now=now)
    return ended


async def requeue_orphans(session: AsyncSession, *, owner: str) -> list[Attempt]:
    """On daemon start: jobs held by workers of an earlier daemon go back to the queue.

    The attempt is not counted against the job (a daemon restart is not its fault); the
    next attempt resumes from the job's checkpoint.
    """
    orphans = await session.scalars(
        select(Job)
        .where(Job.status.in_(RUNNING), (Job.lease_owner != owner) | Job.lease_owner.is_(None))
        .with_for_update()
    )
    requeued: list[Attempt] = []
    for job in list(orphans):
        requeued.append(attempt_of(job))
        job.status = JobStatus.queued
        job.stage = "requeued after a daemon restart"
        job.attempts = max(job.attempts - 1, 0)
        job.lease_owner = None
        job.lease_expires_at = None
    return requeued


def _finish(job: Job, status: JobStatus, now: datetime | None) -> None:
    job.status = status
    job.stage = str(status)
    job.finished_at = now or utcnow()
    # The lease ends but its owner stays: which worker slot ran the job's last attempt
    # (core.operator_analytics); only running jobs' owners are ever compared.
    job.lease_expires_at = None
    job.eta_seconds = None


async def _load(session: AsyncSession, job_id: int) -> Job:
    job = await session.scalar(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    )
    assert job is not None, "a claimed job exists"
    return job
