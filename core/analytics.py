"""A person's analytics: how their jobs went and what they cost, and their datasets.

Jobs count by the day they were created; a job's points are its cost net of what was refunded
(`Job.cost - Job.refunded`). The cost per day is the ledger's: the debits of every job kind
posted that day minus the refunds posted that day, so a refund counts on the day it was given
(a day whose refunds exceed its debits is negative).
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.date_ranges import DateRange, day_of
from core.db.models import Dataset, Image, Job, LedgerEntry
from core.enums import RUNNING_STATUSES, JobKind, JobStatus, LedgerKind, Visibility

MAX_DATASETS = 100
MAX_TAGS = 50
KIND_OF_DEBIT = {kind.debit: kind for kind in JobKind}


@dataclass(frozen=True)
class TrainingTotals:
    """The trainings (jobs of kind `train`) created in the range."""

    total: int
    completed: int
    failed: int
    cancelled: int
    running: int
    queued: int
    success_rate: float | None  # completed / (completed + failed); None before either
    average_seconds: float | None  # started → finished, of the completed ones
    total_cost: int
    average_cost: int | None


@dataclass(frozen=True)
class DayCost:
    """Net points paid for jobs on one day, in all and by job kind."""

    date: date
    points: int
    by_kind: dict[JobKind, int]


@dataclass(frozen=True)
class Share:
    """Jobs of one offering or one kind, and their points net of refunds."""

    key: str
    jobs: int
    points: int


@dataclass(frozen=True)
class TrainingAnalytics:
    window: DateRange
    jobs_total: int
    jobs_by_status: dict[JobStatus, int]
    trainings: TrainingTotals
    cost_by_day: list[DayCost]
    by_offering: list[Share]
    by_kind: list[Share]


@dataclass(frozen=True)
class _JobRow:
    kind: JobKind
    status: JobStatus
    offering_id: str
    points: int
    started_at: datetime | None
    finished_at: datetime | None


async def training_analytics(
    session: AsyncSession, account_id: int, window: DateRange
) -> TrainingAnalytics:
    """The account's jobs created in `window`, and the points it paid for jobs each day."""
    jobs = await _jobs(session, account_id, window)
    by_status = Counter(job.status for job in jobs)
    return TrainingAnalytics(
        window=window,
        jobs_total=len(jobs),
        jobs_by_status={status: by_status[status] for status in JobStatus},
        trainings=_training_totals([job for job in jobs if job.kind is JobKind.train]),
        cost_by_day=await _cost_by_day(session, account_id, window),
        by_offering=_shares(jobs, lambda job: job.offering_id, by_points=True),
        by_kind=_kind_shares(jobs),
    )


async def _jobs(session: AsyncSession, account_id: int, window: DateRange) -> list[_JobRow]:
    start, end = window.bounds()
    rows = await session.execute(
        select(
            Job.kind, Job.status, Job.offering_id, Job.cost - Job.refunded,
            Job.started_at, Job.finished_at,
        ).where(Job.account_id == account_id, Job.created_at >= start, Job.created_at < end)
    )  # fmt: skip
    return [
        _JobRow(JobKind(kind), JobStatus(status), offering, int(points), started, finished)
        for kind, status, offering, points, started, finished in rows
    ]


def _training_totals(trainings: list[_JobRow]) -> TrainingTotals:
    count = Counter(job.status for job in trainings)
    completed, failed = count[JobStatus.completed], count[JobStatus.failed]
    durations = [
        (job.finished_at - job.started_at).total_seconds()
        for job in trainings
        if job.status is JobStatus.completed and job.started_at and job.finished_at
    ]
    total_cost = sum(job.points for job in trainings)
    return TrainingTotals(
        total=len(trainings),
        completed=completed,
        failed=failed,
        cancelled=count[JobStatus.cancelled],
        running=sum(count[status] for status in RUNNING_STATUSES),
        queued=count[JobStatus.queued],
        success_rate=round(completed / (completed + failed), 4) if completed + failed else None,
        average_seconds=round(sum(durations) / len(durations), 1) if durations else None,
        total_cost=total_cost,
        average_cost=round(total_cost / len(trainings)) if trainings else None,
    )


def _shares(jobs: list[_JobRow], key: Callable[[_JobRow], str], *, by_points: bool) -> list[Share]:
    counts: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for job in jobs:
        counts[key(job)] += 1
        points[key(job)] += job.points
    shares = [Share(name, counts[name], points[name]) for name in counts]
    return sorted(shares, key=lambda s: (-s.points, -s.jobs, s.key)) if by_points else shares


def _kind_shares(jobs: list[_JobRow]) -> list[Share]:
    found = {share.key: share for share in _shares(jobs, lambda j: j.kind, by_points=False)}
    return [found.get(kind, Share(kind, 0, 0)) for kind in JobKind]


async def _cost_by_day(session: AsyncSession, account_id: int, window: DateRange) -> list[DayCost]:
    start, end = window.bounds()
    kinds = [str(kind) for kind in (*KIND_OF_DEBIT, LedgerKind.refund)]
    entries = list(
        await session.execute(
            select(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.delta,
                   LedgerEntry.reference)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.kind.in_(kinds),
                   LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        )
    )  # fmt: skip
    refunded_kinds = await _kinds_of_jobs(
        session, account_id, [ref for _, kind, _, ref in entries if kind == LedgerKind.refund]
    )
    paid: dict[date, Counter[JobKind]] = defaultdict(Counter)
    for created, kind, delta, reference in entries:
        job_kind = KIND_OF_DEBIT.get(LedgerKind(kind)) or refunded_kinds.get(reference or "")
        if job_kind is not None:
            paid[day_of(created)][job_kind] -= int(delta)
    return [
        DayCost(day, sum(paid[day].values()), {kind: paid[day][kind] for kind in JobKind})
        for day in window.dates()
    ]


async def _kinds_of_jobs(
    session: AsyncSession, account_id: int, references: list[str | None]
) -> dict[str, JobKind]:
    """The job kind of each `job:<id>` reference (refunds name their job, not its kind)."""
    ids = {int(ref.split(":", 1)[1]) for ref in references if ref and ref.startswith("job:")}
    if not ids:
        return {}
    rows = await session.execute(
        select(Job.id, Job.kind).where(Job.account_id == account_id, Job.id.in_(ids))
    )
    return {f"job:{job_id}": JobKind(kind) for job_id, kind in rows}


@dataclass(frozen=True)
class DatasetStats:
    id: int
    name: str
    images: int
    bytes: int
    visibility: Visibility
    uses: int
    trainings: int


@dataclass(frozen=True)
class DatasetAnalytics:
    datasets_total: int
    images_total: int
    bytes_total: int
    by_visibility: dict[Visibility, int]
    uses: int
    datasets: list[DatasetStats]  # newest first, at most MAX_DATASETS
    tag_frequency: list[tuple[str, int]]  # most frequent first, at most MAX_TAGS


async def dataset_analytics(session: AsyncSession, account_id: int) -> DatasetAnalytics:
    """The account's datasets: totals, by visibility, paid uses, and its captions' tags."""
    image_counts = (
        select(Image.dataset_id, func.count().label("n"),
               func.coalesce(func.sum(Image.byte_size), 0).label("size"))
        .where(Image.account_id == account_id)
        .group_by(Image.dataset_id)
        .subquery()
    )  # fmt: skip
    trainings = (
        select(Job.dataset_id, func.count().label("n"))
        .where(Job.account_id == account_id, Job.kind == JobKind.train)
        .group_by(Job.dataset_id)
        .subquery()
    )
    rows = await session.execute(
        select(Dataset, image_counts.c.n, image_counts.c.size, trainings.c.n)
        .outerjoin(image_counts, image_counts.c.dataset_id == Dataset.id)
        .outerjoin(trainings, trainings.c.dataset_id == Dataset.id)
        .where(Dataset.account_id == account_id)
        .order_by(Dataset.id.desc())
    )
    stats = [
        DatasetStats(d.id, d.name, int(n or 0), int(size or 0), Visibility(d.visibility),
                     d.uses, int(jobs or 0))
        for d, n, size, jobs in rows
    ]  # fmt: skip
    seen = Counter(s.visibility for s in stats)
    return DatasetAnalytics(
        datasets_total=len(stats),
        images_total=sum(s.images for s in stats),
        bytes_total=sum(s.bytes for s in stats),
        by_visibility={visibility: seen[visibility] for visibility in Visibility},
        uses=sum(s.uses for s in stats),
        datasets=stats[:MAX_DATASETS],
        tag_frequency=await _tag_frequency(session, account_id),
    )


async def _tag_frequency(session: AsyncSession, account_id: int) -> list[tuple[str, int]]:
    """The comma-separated tags of the account's captions, most frequent first."""
    captions = await session.scalars(select(Image.caption).where(Image.account_id == account_id))
    tags = Counter(
        tag
        for caption in captions
        for tag in (part.strip().lower() for part in (caption or "").split(","))
        if tag
    )
    ranked = sorted(tags.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:MAX_TAGS]
