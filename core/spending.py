"""Spending protection: a person's optional daily cap, and the low-balance notice."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import activity
from core.db.models import Job, LedgerEntry
from core.db.types import utcnow
from core.enums import ActivityKind, JobKind, LedgerKind, NotificationKind
from core.notifications import enqueue

# The kinds that pay for a use of the service, and the refunds that give such payments back.
# Every job kind's debit, and the refunds that give part of them back.
SPENDING_KINDS = (*(kind.debit for kind in JobKind), LedgerKind.refund)


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def spent_today(
    session: AsyncSession, account_id: int, *, now: datetime | None = None
) -> int:
    """Points spent since 00:00 UTC: debits net of the refunds given back today."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.kind.in_([str(kind) for kind in SPENDING_KINDS]),
            LedgerEntry.created_at >= _day_start(now or utcnow()),
        )
    )
    return max(-int(total or 0), 0)


def over_cap(cap: int | None, spent: int, cost: int) -> str | None:
    """Why `cost` more would break the daily cap, or None when it fits."""
    if cap is None or spent + cost <= cap:
        return None
    left = max(cap - spent, 0)
    return (
        f"this costs {cost} points, but your daily spending cap is {cap} and {left} of it is "
        "left today; raise the cap or wait until 00:00 UTC"
    )


async def warn_if_low(
    session: AsyncSession, job: Job, *, before: int, after: int, threshold: int
) -> None:
    """Tell the person (and their activity feed) when this debit took their balance below
    the threshold."""
    if threshold <= 0 or not before >= threshold > after:
        return
    payload = {"balance": after, "threshold": threshold, "job_id": job.id}
    key = f"low_balance:job:{job.id}"
    await activity.record(
        session,
        account_id=job.account_id,
        kind=ActivityKind.low_balance,
        payload=payload,
        dedupe_key=key,
    )
    if not job.platform:
        return
    await enqueue(
        session,
        account_id=job.account_id,
        kind=NotificationKind.low_balance,
        platform=job.platform,
        platform_user_id=job.platform_user_id or "",
        payload=payload,
        dedupe_key=key,
    )
