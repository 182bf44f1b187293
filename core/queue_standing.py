"""Where a job stands in the queue: its position and when a slot should take it.

The ETA spreads the work ahead over the worker slots: what the running jobs have left (their
reported ETA, else their estimate) plus the estimates of the jobs queued before it.
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


async def queue_standing(session: AsyncSession, job: Job | None, *, slots: int) -> QueueStanding:
    """The standing of a job, or with `job=None` of a job submitted now (for the estimate)."""
    if job is not None and job.status != JobStatus.queued:
        return QueueStanding()
    waiting = [Job.status == JobStatus.queued]
    if job is not None:
        waiting.append(Job.id < job.id)
    ahead, queued_work = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Job.estimated_seconds), 0.0)).where(
                *waiting
            )
        )
    ).one()
    running = await session.execute(
        select(Job.eta_seconds, Job.estimated_seconds).where(Job.status.in_(RUNNING))
    )
    remaining = sum(eta if eta is not None else estimate for eta, estimate in running)
    work = remaining + float(queued_work or 0.0)
    return QueueStanding(position=int(ahead or 0) + 1, starts_in_seconds=work / max(slots, 1))
