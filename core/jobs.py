"""Training submission (preflight + debit + row + training set in one transaction), and the
queries, cancel and requeue of jobs of every kind.

Money rules:
- submit: the charge of every kind follows `core.paid_jobs` (idempotency key, quote, debit
  in the job's transaction; on another's dataset, the owner's royalty in it too).
- cancel while queued: the full cost comes back (`refund:job:<id>`, at most once per job);
  cancel while running: the unused share; both settled by `core.lifecycle.cancel`.
- requeue (operators, failed/cancelled jobs): allowed only while nothing was refunded. A
  refund is keyed once per job, so a refunded job that ran again could never be refunded
  a second time; such a job is refused with 409 `REQUEUE_REFUNDED` and the user submits anew
  (`core.lifecycle.requeue`).

The status changes themselves all live in `core.lifecycle`.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core import lifecycle, royalties
from core.db.models import Dataset, Job, JobMetric
from core.economy import MarketRules
from core.enums import ItemKind, JobKind, JobStatus
from core.errors import NotFound
from core.estimate import estimate, refusal
from core.job_images import snapshot_images
from core.ledger import lock_accounts
from core.models_registry import model_name
from core.naming import file_stem
from core.offerings import OfferingRegistry
from core.paid_jobs import find_repeat, queue_paid_job
from core.queue_standing import queue_standing
from core.royalties import PaidItem


def request_fingerprint(
    dataset_id: int, offering_id: str, preset: str, overrides: dict[str, Any]
) -> str:
    """Hash of the fields that make two trainings the same request (and a quote theirs)."""
    body = {
        "dataset_id": dataset_id,
        "offering_id": offering_id,
        "preset": preset,
        "overrides": {k: v for k, v in sorted(overrides.items()) if v is not None},
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class JobRequest:
    """What a user asks to train; `reply_to` and `quote_id` are not part of its identity."""

    dataset_id: int
    offering_id: str
    preset: str
    idempotency_key: str
    overrides: dict[str, Any] = field(default_factory=dict)
    reply_to: dict[str, Any] = field(default_factory=dict)
    # The price the person confirmed: charged exactly, or refused when it no longer holds.
    quote_id: str | None = None

    def fingerprint(self) -> str:
        """Hash of the fields that make two submissions the same request."""
        return request_fingerprint(self.dataset_id, self.offering_id, self.preset, self.overrides)


@dataclass
class CancelResult:
    job: Job
    refunded: int


@dataclass(frozen=True)
class JobStanding:
    """What a job's answer adds to its row: its place in the queue, its ETA, its model."""

    queue_position: int | None  # 1 for the next job to start; None when not waiting
    starts_in_seconds: float | None  # while queued: until a slot should take it
    eta_seconds: float | None  # until it should be done
    model_id: int | None  # once completed


async def submit_job(
    session: AsyncSession,
    registry: OfferingRegistry,
    market: MarketRules,
    *,
    account_id: int,
    platform: str | None,
    platform_user_id: str | None,
    request: JobRequest,
    data_dir: Path,
) -> tuple[Job, bool]:
    """Preflight, debit and queue a job; a repeated key returns the first job (created=False).

    Training on another's dataset is a paid use: its owner's royalty is paid in this
    transaction (`core.royalties`).
    """
    fingerprint = request.fingerprint()
    owner_id = await royalties.owner_of(session, ItemKind.dataset, request.dataset_id)
    # The account lock serializes submissions of one account, so the key lookup below is
    # decisive on PostgreSQL too (SQLite serializes all writers anyway). The dataset's owner
    # is locked with it (in id order) for the royalty.
    await lock_accounts(session, [account_id] if owner_id is None else [account_id, owner_id])
    existing = await find_repeat(session, account_id, request.idempotency_key, fingerprint)
    if existing is not None:
        return existing, False
    preflight = await estimate(
        session,
        registry,
        account_id=account_id,
        dataset_id=request.dataset_id,
        offering_id=request.offering_id,
        preset=request.preset,
        overrides=request.overrides,
        data_dir=data_dir,
    )
    if not preflight.ok or preflight.spec is None:
        raise refusal(preflight.errors, preflight.warnings)
    job = Job(
        account_id=account_id,
        kind=JobKind.train,
        dataset_id=request.dataset_id,
        offering_id=request.offering_id,
        preset=request.preset,
        params=preflight.spec.to_dict(),
        overrides=request.overrides,
        cost=preflight.cost,
        estimated_seconds=preflight.estimated_seconds,
        idempotency_key=request.idempotency_key,
        request_hash=fingerprint,
        platform=platform,
        platform_user_id=platform_user_id,
        reply_to=request.reply_to,
        status=JobStatus.queued,
        stage="queued",
        total_steps=int(preflight.params["steps"]),
    )
    item = None if owner_id is None else PaidItem(ItemKind.dataset, request.dataset_id, owner_id)
    await queue_paid_job(
        session, market, job, quote_id=request.quote_id, item=item, item_price=preflight.cost
    )
    # The kohya file's stem and alias (`ss_output_name`) come from the model's name, which
    # needs the job's id: without it every LoRA would be `lora` in A1111's prompt syntax.
    dataset = await session.get(Dataset, request.dataset_id)
    name = model_name(dataset.name if dataset else None, job.offering_id, job.id)
    job.params = {**job.params, "output_name": file_stem(name)}
    # The dataset row is share-locked since the preflight, so this is the set it counted.
    await snapshot_images(session, job)
    return job, True


async def get_job(
    session: AsyncSession, job_id: int, account_id: int | None = None, *, lock: bool = False
) -> Job:
    """A job; with `account_id`, only that account's (others look missing)."""
    query = select(Job).where(Job.id == job_id).options(selectinload(Job.model))
    if account_id is not None:
        query = query.where(Job.account_id == account_id)
    if lock:
        query = query.with_for_update()
    job = await session.scalar(query.execution_options(populate_existing=True))
    if job is None:
        mine = "" if account_id is None else " or is not yours"
        raise NotFound(f"job {job_id} does not exist{mine}")
    return job


async def list_jobs(
    session: AsyncSession,
    account_id: int | None = None,
    *,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    limit: int = 50,
) -> list[Job]:
    """Jobs, newest first; of one account when `account_id` is given."""
    query = select(Job).options(selectinload(Job.model))
    if account_id is not None:
        query = query.where(Job.account_id == account_id)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(await session.scalars(query.order_by(Job.id.desc()).limit(limit)))


async def cancel_job(
    session: AsyncSession, job_id: int, account_id: int | None = None
) -> CancelResult:
    """Cancel a job: queued → full refund; running → the unused share; final → conflict."""
    job = await get_job(session, job_id, account_id, lock=True)
    refunded = await lifecycle.cancel(session, job)
    return CancelResult(job, refunded)


async def requeue_job(session: AsyncSession, job_id: int) -> Job:
    """Put a failed or cancelled job back in the queue (operators); see the module's rules."""
    job = await get_job(session, job_id, lock=True)
    lifecycle.requeue(job)
    return job


async def job_metrics(session: AsyncSession, job_id: int) -> list[JobMetric]:
    """The loss curve of a job, by step."""
    rows = await session.scalars(
        select(JobMetric).where(JobMetric.job_id == job_id).order_by(JobMetric.step)
    )
    return list(rows)


async def jobs_by_status(session: AsyncSession) -> dict[str, int]:
    """How many jobs are in each status (every status present, zero when none)."""
    counts = dict.fromkeys((str(s) for s in JobStatus), 0)
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    for status, count in rows:
        counts[status] = int(count)
    return counts


def _model_id(job: Job) -> int | None:
    # Only when the relationship was loaded: a lazy load would need I/O in async code.
    if "model" in inspect(job).unloaded:
        return None
    return job.model.id if job.model is not None else None


async def job_standing(session: AsyncSession, job: Job, *, slots: int) -> JobStanding:
    """The job's place in the queue and, while it waits, when it should start and be done."""
    standing = await queue_standing(session, job, slots=slots)
    starts_in = standing.starts_in_seconds
    eta = job.eta_seconds if starts_in is None else starts_in + job.estimated_seconds
    return JobStanding(standing.position, starts_in, eta, _model_id(job))
