"""A person's activity feed: the events they would want to look back on, with read state.

`record` writes one row per event in the transaction of the event itself, keyed once by its
`dedupe_key` (`job:7:completed`, `purchase:3`, `royalty:use:5`, ...), so a replayed event adds
nothing. The feed lives beside the bots' outbox (`core.notifications`), never in it:
acknowledging or pruning notifications leaves it as it is. Reading is for the owner only;
another account's item answers exactly like a missing one.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Activity
from core.db.types import utcnow
from core.enums import ActivityKind, ItemKind, JobKind
from core.errors import NotFound

MAX_PAGE = 100
JOB_NOUN = {
    JobKind.train: "Training",
    JobKind.caption: "Captioning",
    JobKind.generate: "Generation",
}
ITEM_NOUN = {ItemKind.dataset: "dataset", ItemKind.model: "LoRA"}


@dataclass(frozen=True)
class Event:
    """One item of the feed as a person reads it."""

    id: int
    kind: ActivityKind
    title: str
    payload: dict[str, Any]
    read: bool
    created_at: datetime

    @classmethod
    def of(cls, row: Activity) -> "Event":
        """The event a stored row records."""
        kind = ActivityKind(row.kind)
        read = row.read_at is not None
        return cls(row.id, kind, title(kind, row.payload), row.payload, read, row.created_at)


@dataclass(frozen=True)
class Page:
    """A page of the feed, newest first; `next_before` asks for the next one (None: the end)."""

    items: list[Event]
    unread: int
    next_before: int | None


@dataclass(frozen=True)
class Marked:
    """What marking everything read did: how many it marked, and how many are unread now."""

    marked: int
    unread: int


async def record(
    session: AsyncSession,
    *,
    account_id: int,
    kind: ActivityKind,
    payload: Mapping[str, Any],
    dedupe_key: str,
) -> Activity:
    """Add an event unless one with the same `dedupe_key` exists; return the row."""
    existing = await session.scalar(select(Activity).where(Activity.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    row = Activity(
        account_id=account_id, kind=str(kind), payload=dict(payload), dedupe_key=dedupe_key
    )
    session.add(row)
    await session.flush()
    return row


async def feed(
    session: AsyncSession,
    account_id: int,
    *,
    kinds: Collection[ActivityKind] = (),
    unread_only: bool = False,
    before: int | None = None,
    limit: int = 20,
) -> Page:
    """A page of the account's events, newest first, optionally of some kinds or unread only."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Activity).where(Activity.account_id == account_id)
    if kinds:
        query = query.where(Activity.kind.in_(sorted(str(kind) for kind in kinds)))
    if unread_only:
        query = query.where(Activity.read_at.is_(None))
    if before is not None:
        query = query.where(Activity.id < before)
    # One row past the page tells whether another page follows.
    rows = list(await session.scalars(query.order_by(Activity.id.desc()).limit(limit + 1)))
    items = [Event.of(row) for row in rows[:limit]]
    next_before = items[-1].id if len(rows) > limit else None
    return Page(items, await unread_count(session, account_id), next_before)


async def unread_count(session: AsyncSession, account_id: int) -> int:
    """How many of the account's events are unread (of every kind)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Activity)
        .where(Activity.account_id == account_id, Activity.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, account_id: int, activity_id: int, *, now: datetime | None = None
) -> Event:
    """Mark one of the account's events read (again: unchanged); others' are NotFound."""
    row = await session.scalar(
        select(Activity).where(Activity.id == activity_id, Activity.account_id == account_id)
    )
    if row is None:
        raise NotFound(f"activity {activity_id} not found", activity_id=activity_id)
    if row.read_at is None:
        row.read_at = now or utcnow()
        await session.flush()
    return Event.of(row)


async def mark_all_read(
    session: AsyncSession, account_id: int, *, now: datetime | None = None
) -> Marked:
    """Mark every unread event of the account read."""
    result = await session.execute(
        update(Activity)
        .where(Activity.account_id == account_id, Activity.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return Marked(marked, await unread_count(session, account_id))


def title(kind: ActivityKind, payload: Mapping[str, Any]) -> str:
    """The one English line that describes an event (the feed's, the bots' and the web's)."""
    if kind in _JOB_TITLES:
        noun = JOB_NOUN.get(JobKind(payload.get("job_kind", JobKind.train)), "Job")
        return _JOB_TITLES[kind](f"{noun} #{payload.get('job_id')}", payload)
    return _OTHER_TITLES[kind](payload)


def _refunded(payload: Mapping[str, Any]) -> str:
    points = int(payload.get("refunded") or 0)
    return f", {points} points refunded" if points else ""


def _completed(job: str, p: Mapping[str, Any]) -> str:
    kept = f" at its step {p['kept_step']} checkpoint" if p.get("kept_step") else ""
    return f"{job} completed{kept}: LoRA #{p.get('model_id')} is ready{_refunded(p)}"


def _captions(job: str, p: Mapping[str, Any]) -> str:
    written = int(p.get("written") or 0)
    return f"{job} finished: {written} captions written in dataset #{p.get('dataset_id')}"


def _generation(job: str, p: Mapping[str, Any]) -> str:
    count = len(p.get("images") or [])
    return f"{job} finished: {count} images ready with LoRA #{p.get('model_id')}"


_JOB_TITLES = {
    ActivityKind.job_started: lambda job, p: f"{job} started",
    ActivityKind.job_completed: _completed,
    ActivityKind.job_failed: lambda job, p: f"{job} failed{_refunded(p)}",
    ActivityKind.job_cancelled: lambda job, p: f"{job} cancelled{_refunded(p)}",
    ActivityKind.captions_ready: _captions,
    ActivityKind.generation_ready: _generation,
}


def _royalty(p: Mapping[str, Any]) -> str:
    noun = ITEM_NOUN.get(ItemKind(p.get("item_kind", ItemKind.dataset)), "item")
    return f"Earned {p.get('points')} points: someone used your {noun} “{p.get('item_name')}”"


def _linked(p: Mapping[str, Any]) -> str:
    platforms = " and ".join(str(name).capitalize() for name in p.get("platforms") or [])
    moved = int(p.get("moved_points") or 0)
    points = f"; {moved} points moved over" if moved else ""
    return f"Linked your {platforms or 'other'} account into this one{points}"


_OTHER_TITLES = {
    ActivityKind.purchase: lambda p: f"Bought {p.get('points')} points ({p.get('pack_id')})",
    ActivityKind.purchase_refunded: lambda p: (
        f"Purchase #{p.get('purchase_id')} refunded: {p.get('points')} points taken back"
    ),
    ActivityKind.royalty_earned: _royalty,
    ActivityKind.accounts_linked: _linked,
    ActivityKind.low_balance: lambda p: (
        f"Low balance: {p.get('balance')} points left (below {p.get('threshold')})"
    ),
}
