"""The notification outbox: events a user must hear about, delivered at least once to a bot."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import activity
from core.db.models import Identity, Job, Notification
from core.db.types import utcnow
from core.enums import ActivityKind, NotificationKind, Platform

MAX_FETCH = 100
# The job news a person's activity feed keeps too: every kind but job_sample.
FEED_KINDS = frozenset(ActivityKind)
# Failed deliveries after which a row is served no more (the daemon passes its setting).
DEFAULT_MAX_DELIVERIES = 30


async def enqueue(
    session: AsyncSession,
    *,
    account_id: int,
    kind: NotificationKind,
    platform: Platform | str,
    platform_user_id: str,
    payload: dict[str, Any],
    dedupe_key: str,
) -> Notification:
    """Add an outbox row unless one with the same `dedupe_key` exists; return the row."""
    existing = await session.scalar(
        select(Notification).where(Notification.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return existing
    row = Notification(
        account_id=account_id,
        kind=str(kind),
        platform=str(platform),
        platform_user_id=platform_user_id,
        payload=payload,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    await session.flush()
    return row


async def notify_job(
    session: AsyncSession,
    job: Job,
    kind: NotificationKind,
    payload: dict[str, Any],
    *,
    dedupe_detail: str | None = None,
) -> Notification | None:
    """Tell the identity a job was submitted from (else the account's first identity), and
    record the event in the account's activity feed when it is one of its kinds.

    One notification per job and kind (`job:<id>:<kind>`); a kind told more than once per job
    names each event in `dedupe_detail` (a sample's step: `job:<id>:sample:<step>`).
    """
    suffix = kind.value.removeprefix("job_")
    if dedupe_detail is not None:
        suffix = f"{suffix}:{dedupe_detail}"
    dedupe_key = f"job:{job.id}:{suffix}"
    facts = {"job_id": job.id, "job_kind": job.kind, "offering_id": job.offering_id, **payload}
    if kind in FEED_KINDS:
        # Recorded whoever is told: an account without a chat identity keeps its history too.
        await activity.record(
            session,
            account_id=job.account_id,
            kind=ActivityKind(kind.value),
            payload=facts,
            dedupe_key=dedupe_key,
        )
    platform, user_id = job.platform, job.platform_user_id
    if not platform or not user_id:
        identity = await session.scalar(
            select(Identity).where(Identity.account_id == job.account_id).order_by(Identity.id)
        )
        if identity is None:
            return None  # an account without any chat identity has no one to tell
        platform, user_id = identity.platform, identity.platform_user_id
    return await enqueue(
        session,
        account_id=job.account_id,
        kind=kind,
        platform=platform,
        platform_user_id=user_id,
        payload={**facts, "reply_to": job.reply_to},
        dedupe_key=dedupe_key,
    )


async def fetch_pending(
    session: AsyncSession,
    platform: Platform | str,
    *,
    lease_seconds: float,
    max_deliveries: int = DEFAULT_MAX_DELIVERIES,
    limit: int = MAX_FETCH,
    now: datetime | None = None,
) -> list[Notification]:
    """Lease and return unacknowledged rows of a platform whose lease is free or expired.

    A row a live bot has failed to deliver `max_deliveries` times (the user blocked the bot,
    say) is served no more; it stays unacknowledged for operators to see.
    """
    now = now or utcnow()
    rows = list(
        await session.scalars(
            select(Notification)
            .where(
                Notification.platform == str(platform),
                Notification.acked_at.is_(None),
                Notification.deliveries < max_deliveries,
                or_(Notification.leased_until.is_(None), Notification.leased_until <= now),
            )
            .order_by(Notification.id)
            .limit(min(limit, MAX_FETCH))
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    until = now + timedelta(seconds=lease_seconds)
    await session.execute(
        update(Notification)
        .where(Notification.id.in_([row.id for row in rows]))
        .values(leased_until=until, deliveries=Notification.deliveries + 1)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        row.leased_until = until
        row.deliveries += 1
    return rows


async def acknowledge(
    session: AsyncSession, ids: Sequence[int], *, now: datetime | None = None
) -> int:
    """Mark rows delivered; ids already acknowledged (or unknown) change nothing."""
    if not ids:
        return 0
    result = await session.execute(
        update(Notification)
        .where(Notification.id.in_(list(ids)), Notification.acked_at.is_(None))
        .values(acked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def platforms_with_expired_leases(
    session: AsyncSession,
    *,
    max_deliveries: int = DEFAULT_MAX_DELIVERIES,
    now: datetime | None = None,
) -> set[str]:
    """Platforms holding rows whose delivery lease ran out unacknowledged (to wake pollers)."""
    now = now or utcnow()
    rows = await session.scalars(
        select(Notification.platform)
        .where(
            Notification.acked_at.is_(None),
            Notification.deliveries < max_deliveries,
            Notification.leased_until.is_not(None),
            Notification.leased_until <= now,
        )
        .distinct()
    )
    return set(rows)
