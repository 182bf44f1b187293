"""Where a job stands in the queue: its position and when a slot should take it.

The ETA spreads the work ahead over the worker slots: what the running jobs have left (their
reported ETA, else their estimate) plus the estimates of the jobs that start before it.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Job
from core.enums import RUNNING_STATUSES, JobStatus

RUNNING = sorted(RUNNING_STATUSES)


@dataclass(frozen=True)
class QueueStanding:
    """A waiting job's place; both fields are None for a job that is not waiting."""

    position: int | None = None
    """1 for the next job to start."""
    starts_in_seconds: float | None = None
    """Seconds until a free slot should take the job."""

    @property
    def ahead(self) -> int | None:
        """How many jobs wait before this one."""
        return None if self.position is None else self.position - 1


async def queue_standing(
    session: AsyncSession, job: Job | None, *, slots: int, account_id: int | None = None
) -> QueueStanding:
    """The standing of a job, or with `job=None` of a job `account_id` submitted now.

    Accounts take turns (`core.lifecycle.claim_next`): a job that is its account's k-th in
    the queue waits for that account's k − 1 older jobs and for up to k jobs of every other
    account. The queued work ahead counts each other account's jobs at their mean estimate.
    """
    if job is not None and job.status != JobStatus.queued:
        return QueueStanding()
    owner = job.account_id if job is not None else account_id
    queued = Job.status == JobStatus.queued
    per_account = await session.execute(
        select(Job.account_id, func.count(), func.coalesce(func.sum(Job.estimated_seconds), 0.0))
        .where(queued)
        .group_by(Job.account_id)
    )
    own_older = [queued, Job.account_id == owner]
    if job is not None:
        own_older.append(Job.id < job.id)
    older, older_work = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Job.estimated_seconds), 0.0)).where(
                *own_older
            )
        )
    ).one()
    turn = int(older or 0) + 1
    ahead, work = turn - 1, float(older_work or 0.0)
    for other, count, total in per_account:
        if other != owner:
            taken = min(int(count), turn)
            ahead += taken
            work += float(total) / int(count) * taken
    running = await session.execute(
        select(Job.eta_seconds, Job.estimated_seconds).where(Job.status.in_(RUNNING))
    )
    work += sum(eta if eta is not None else estimate for eta, estimate in running)
    return QueueStanding(position=ahead + 1, starts_in_seconds=work / max(slots, 1))
