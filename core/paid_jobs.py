"""Queueing a paid job of any kind, in the caller's transaction: one rule for the money.

- The caller locks every account involved first (`core.ledger.lock_accounts`: the payer and
  the owner of a paid item, in id order), so the key lookup of `find_repeat` is decisive on
  PostgreSQL too (SQLite serializes all writers anyway).
- A repeated idempotency key with the same request returns the first job; with another
  request it is a conflict (IDEMPOTENCY_CONFLICT).
- With a quote, exactly the quoted cost or a refusal with the new price (`core.quotes`).
- The debit, keyed `job:<idempotency_key>` with the kind's ledger kind, is posted in the
  transaction that inserts the job; a use of another's published item pays its owner's
  royalty in the same transaction (`core.royalties`).
Refunds are the lifecycle's (`core.lifecycle.refund`), the same for every kind.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import royalties
from core.db.models import Job
from core.economy import MarketRules
from core.enums import JobKind
from core.errors import Conflict
from core.ledger import post_entry
from core.quotes import honour_quote
from core.royalties import PaidItem
from core.spending import warn_if_low


async def find_job_by_key(session: AsyncSession, account_id: int, key: str) -> Job | None:
    """The job an idempotency key already created on an account, if any."""
    return await session.scalar(
        select(Job).where(Job.account_id == account_id, Job.idempotency_key == key)
    )


async def find_repeat(
    session: AsyncSession, account_id: int, key: str, fingerprint: str
) -> Job | None:
    """The job this key made before (same request), None if new; a conflict otherwise."""
    job = await find_job_by_key(session, account_id, key)
    if job is not None and job.request_hash != fingerprint:
        raise Conflict(
            f"idempotency key {key!r} was already used for another job request",
            code="IDEMPOTENCY_CONFLICT",
            job_id=job.id,
        )
    return job


async def queue_paid_job(
    session: AsyncSession,
    market: MarketRules,
    job: Job,
    *,
    quote_id: str | None = None,
    item: PaidItem | None = None,
    item_price: int = 0,
) -> Job:
    """Charge and insert a new job (its cost, key and fingerprint set); see the module.

    `item` is another's dataset or model the job uses; `item_price` the part of the cost
    its use stands for (the royalty is the market's share of it).
    """
    if quote_id is not None:
        await honour_quote(
            session, quote_id, account_id=job.account_id, fingerprint=job.request_hash,
            cost=job.cost,
        )  # fmt: skip
    entry = None
    if job.cost > 0:
        entry, _ = await post_entry(
            session,
            account_id=job.account_id,
            delta=-job.cost,
            kind=JobKind(job.kind).debit,
            idempotency_key=f"job:{job.idempotency_key}",
            fingerprint=job.request_hash,
        )
    session.add(job)
    await session.flush()
    if entry is not None:
        entry.reference = f"job:{job.id}"
        await warn_if_low(
            session,
            job,
            before=entry.balance_after + job.cost,
            after=entry.balance_after,
            threshold=market.low_balance_points,
        )
    if item is not None:
        await royalties.charge_use(session, market, job=job, item=item, price=item_price)
    return job
