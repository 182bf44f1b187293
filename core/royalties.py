"""The one rule for a paid use of another account's published item, and its reversal.

A use is paid by a job of the user (its debit); in the debit's transaction `charge_use`
records a `PaidUse` and credits the item's owner the market's share of the price as a
`royalty` entry keyed `royalty:use:<id>`. When the job is refunded, `reverse_uses` takes the
same share of the refund back (`royalty_reversal` keyed `royalty_reversal:use:<id>`) in the
refund's transaction: a use is reversed once, since a job is refunded once. An owner who has
spent the royalty meanwhile loses at most their balance; the rest is recorded as
`unrecovered` (the operator's loss, never a negative balance).

Callers lock every account involved (`core.ledger.lock_accounts`) before the first change of money.
"""

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import activity
from core.db.models import Dataset, Job, Model, PaidUse
from core.economy import MarketRules
from core.enums import ActivityKind, ItemKind, LedgerKind
from core.ledger import balance, post_entry

TABLES: dict[ItemKind, type[Dataset] | type[Model]] = {
    ItemKind.dataset: Dataset,
    ItemKind.model: Model,
}


@dataclass(frozen=True)
class PaidItem:
    """Someone's dataset or model that a job uses."""

    kind: ItemKind
    id: int
    owner_id: int


async def owner_of(session: AsyncSession, kind: ItemKind, item_id: int) -> int | None:
    """The account that owns an item (None when it does not exist)."""
    table = TABLES[kind]
    return await session.scalar(select(table.account_id).where(table.id == item_id))


async def charge_use(
    session: AsyncSession, market: MarketRules, *, job: Job, item: PaidItem, price: int
) -> PaidUse | None:
    """Record the job's use of another's item and pay the owner's royalty; None for one's own."""
    if item.owner_id == job.account_id:
        return None
    use = PaidUse(
        job_id=job.id,
        item_kind=item.kind,
        item_id=item.id,
        owner_id=item.owner_id,
        user_id=job.account_id,
        price=price,
        royalty=market.royalty(price),
        reversed=0,
        unrecovered=0,
    )
    session.add(use)
    await session.flush()
    if use.royalty > 0:
        await post_entry(
            session,
            account_id=use.owner_id,
            delta=use.royalty,
            kind=LedgerKind.royalty,
            idempotency_key=f"royalty:use:{use.id}",
            reference=f"job:{job.id}",
        )
        await _record_earning(session, use)
    await _count_use(session, item.kind, item.id, +1)
    return use


async def _record_earning(session: AsyncSession, use: PaidUse) -> None:
    """The owner's activity: what was used and what it earned (never who used it)."""
    table = TABLES[ItemKind(use.item_kind)]
    name = await session.scalar(select(table.name).where(table.id == use.item_id))
    await activity.record(
        session,
        account_id=use.owner_id,
        kind=ActivityKind.royalty_earned,
        payload={
            "item_kind": use.item_kind,
            "item_id": use.item_id,
            "item_name": name,
            "points": use.royalty,
            "job_id": use.job_id,
        },
        dedupe_key=f"royalty:use:{use.id}",
    )


async def uses_of(session: AsyncSession, job_id: int) -> list[PaidUse]:
    """The paid uses a job made."""
    return list(await session.scalars(select(PaidUse).where(PaidUse.job_id == job_id)))


async def reverse_uses(
    session: AsyncSession, job: Job, uses: list[PaidUse], refunded: int
) -> None:
    """Take back the royalties' share of the job's refund from its uses (see the module)."""
    for use in uses:
        if use.reversed or use.unrecovered or use.price <= 0:
            continue
        owed = use.royalty * min(refunded, use.price) // use.price
        taken = min(owed, await balance(session, use.owner_id))
        if taken > 0:
            await post_entry(
                session,
                account_id=use.owner_id,
                delta=-taken,
                kind=LedgerKind.royalty_reversal,
                idempotency_key=f"royalty_reversal:use:{use.id}",
                reference=f"job:{job.id}",
            )
        use.reversed, use.unrecovered = taken, owed - taken
        if refunded >= use.price:
            # Refunded in full: the item was not used after all.
            await _count_use(session, ItemKind(use.item_kind), use.item_id, -1)


async def _count_use(session: AsyncSession, kind: ItemKind, item_id: int, step: int) -> None:
    table = TABLES[kind]
    query = update(table).where(table.id == item_id, table.uses + step >= 0)
    await session.execute(
        query.values(uses=table.uses + step).execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class RoyaltyTotals:
    uses: int
    paid: int
    reversed: int
    unrecovered: int


async def royalty_totals(session: AsyncSession) -> RoyaltyTotals:
    """Every paid use so far: how many, and the royalties paid, taken back and lost."""
    row = (
        await session.execute(
            select(
                func.count(PaidUse.id),
                func.coalesce(func.sum(PaidUse.royalty), 0),
                func.coalesce(func.sum(PaidUse.reversed), 0),
                func.coalesce(func.sum(PaidUse.unrecovered), 0),
            )
        )
    ).one()
    return RoyaltyTotals(*(int(n) for n in row))
