"""Operator analytics: what the service did, for everyone, over a range of UTC days.

- Days: jobs submitted (created), completed and failed (finished) that day; points spent
  (the debits of every job kind less their refunds) and points bought (purchases credited).
- Queue wait: first start − submission of the jobs first started in the range.
- GPU busy seconds per slot: a slot is the lease owner of a job's last attempt (the worker
  pool of one daemon run, `host:pid:run`), busy from the job's first start to its end; jobs
  finished before owners were kept count under `unknown`.
- Failures by reason: the failed jobs' stored errors, classed by `failure_reason` (the same
  class the daemon's failure counter uses).
- Top offerings and revenue: jobs submitted in the range with their net points; purchases
  credited in the range (refunded ones included, as `core.purchases` counts them).
"""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.date_ranges import DateRange
from core.db.models import Job, LedgerEntry, Purchase
from core.enums import JobKind, JobStatus, LedgerKind, PurchaseProvider
from core.purchases import PAID

TOP_OFFERINGS = 10
UNKNOWN_SLOT = "unknown"
SPENDING_KINDS = frozenset({*(kind.debit for kind in JobKind), LedgerKind.refund})
# The daemon's own failure messages (core.lifecycle, daemon.queue.dispatcher), first match wins.
_REASONS = (
    ("out_of_memory", re.compile(r"out of memory|OutOfMemoryError", re.IGNORECASE)),
    ("lease_expired", re.compile(r"lease expired")),
    ("stalled", re.compile(r"^no training progress for")),
    ("start_failed", re.compile(r"^could not start a worker")),
    ("inputs_missing", re.compile(r"^the job cannot run")),
    ("store_failed", re.compile(r"^could not store the results")),
    ("worker_stopped", re.compile(r"^the worker stopped before finishing")),
    ("worker_exited", re.compile(r"^the worker exited with code")),
)
# A worker's own error is `<ExceptionType>: <message>` (core.worker_process).
_EXCEPTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,63}):")


def failure_reason(error: str | None) -> str:
    """A short class of a failed job's error, e.g. `lease_expired` or `ValueError`."""
    if not error:
        return "unknown"
    for reason, pattern in _REASONS:
        if pattern.search(error):
            return reason
    match = _EXCEPTION.match(error)
    return match.group(1) if match else "other"


@dataclass(frozen=True)
class DayFigures:
    day: date
    jobs_submitted: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    points_spent: int = 0
    points_bought: int = 0


@dataclass(frozen=True)
class QueueWait:
    """Seconds from submission to first start; percentiles are None without jobs."""

    count: int
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class SlotBusy:
    slot: str
    seconds: float


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True)
class OfferingFigures:
    offering_id: str
    jobs: int
    points: int


@dataclass(frozen=True)
class Revenue:
    points_bought: int
    purchases: int
    by_provider: dict[str, int]


@dataclass(frozen=True)
class OperatorAnalytics:
    start: date
    end: date
    days: list[DayFigures]
    queue_wait: QueueWait
    gpu_busy_seconds: list[SlotBusy]
    failures_by_reason: list[ReasonCount]
    top_offerings: list[OfferingFigures]
    revenue: Revenue


def percentile(sorted_values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of ascending values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(math.ceil(share * len(sorted_values)), 1)
    return round(sorted_values[rank - 1], 3)


async def operator_analytics(session: AsyncSession, window: DateRange) -> OperatorAnalytics:
    """The figures of every account over the UTC days of `window`."""
    low, high = window.bounds()
    days = {day: _Day() for day in window.dates()}
    submitted = await _jobs_submitted(session, low, high, days)
    finished = list(
        await session.scalars(
            select(Job).where(Job.finished_at >= low, Job.finished_at < high).order_by(Job.id)
        )
    )
    failures: dict[str, int] = {}
    busy: dict[str, float] = {}
    for job in finished:
        assert job.finished_at is not None
        if job.status == JobStatus.completed:
            days[job.finished_at.date()].completed += 1
        elif job.status == JobStatus.failed:
            days[job.finished_at.date()].failed += 1
            reason = failure_reason(job.error)
            failures[reason] = failures.get(reason, 0) + 1
        if job.started_at is not None:
            slot = job.lease_owner or UNKNOWN_SLOT
            seconds = (job.finished_at - job.started_at).total_seconds()
            busy[slot] = busy.get(slot, 0.0) + seconds
    await _points_spent(session, low, high, days)
    revenue = await _revenue(session, low, high, days)
    return OperatorAnalytics(
        start=window.start,
        end=window.end,
        days=[day.figures(when) for when, day in days.items()],
        queue_wait=await _queue_wait(session, low, high),
        gpu_busy_seconds=[SlotBusy(slot, round(busy[slot], 3)) for slot in sorted(busy)],
        failures_by_reason=_most_first(failures),
        top_offerings=_top_offerings(submitted),
        revenue=revenue,
    )


class _Day:
    """The figures of one day while they are summed."""

    def __init__(self) -> None:
        self.submitted = self.completed = self.failed = self.spent = self.bought = 0

    def figures(self, day: date) -> DayFigures:
        counts = (self.submitted, self.completed, self.failed, self.spent, self.bought)
        return DayFigures(day, *counts)


async def _jobs_submitted(
    session: AsyncSession, low: datetime, high: datetime, days: dict[date, _Day]
) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(Job.created_at, Job.offering_id, Job.cost - Job.refunded).where(
            Job.created_at >= low, Job.created_at < high
        )
    )
    submitted = []
    for created_at, offering_id, points in rows:
        days[created_at.date()].submitted += 1
        submitted.append((offering_id, int(points)))
    return submitted


async def _points_spent(
    session: AsyncSession, low: datetime, high: datetime, days: dict[date, _Day]
) -> None:
    rows = await session.execute(
        select(LedgerEntry.created_at, LedgerEntry.delta).where(
            LedgerEntry.created_at >= low,
            LedgerEntry.created_at < high,
            LedgerEntry.kind.in_([str(kind) for kind in SPENDING_KINDS]),
        )
    )
    for created_at, delta in rows:
        days[created_at.date()].spent -= int(delta)  # debits are negative, refunds positive


async def _revenue(
    session: AsyncSession, low: datetime, high: datetime, days: dict[date, _Day]
) -> Revenue:
    rows = await session.execute(
        select(Purchase.credited_at, Purchase.provider, Purchase.points).where(
            Purchase.credited_at >= low,
            Purchase.credited_at < high,
            Purchase.status.in_([str(status) for status in PAID]),
        )
    )
    by_provider = {str(provider): 0 for provider in PurchaseProvider}
    count = 0
    for credited_at, provider, points in rows:
        days[credited_at.date()].bought += int(points)
        by_provider[provider] = by_provider.get(provider, 0) + int(points)
        count += 1
    return Revenue(sum(by_provider.values()), count, by_provider)


async def _queue_wait(session: AsyncSession, low: datetime, high: datetime) -> QueueWait:
    rows = await session.execute(
        select(Job.created_at, Job.started_at).where(Job.started_at >= low, Job.started_at < high)
    )
    waits = sorted(max((started - created).total_seconds(), 0.0) for created, started in rows)
    return QueueWait(len(waits), percentile(waits, 0.5), percentile(waits, 0.95))


def _most_first(counts: dict[str, int]) -> list[ReasonCount]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ReasonCount(name, n) for name, n in ranked]


def _top_offerings(submitted: list[tuple[str, int]]) -> list[OfferingFigures]:
    jobs: dict[str, int] = {}
    points: dict[str, int] = {}
    for offering_id, net in submitted:
        jobs[offering_id] = jobs.get(offering_id, 0) + 1
        points[offering_id] = points.get(offering_id, 0) + net
    ranked = sorted(jobs, key=lambda o: (-points[o], -jobs[o], o))[:TOP_OFFERINGS]
    return [OfferingFigures(o, jobs[o], points[o]) for o in ranked]
