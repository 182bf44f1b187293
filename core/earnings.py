"""What an account's published items have earned from others' paid uses (`paid_uses`)."""

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Dataset, Model, PaidUse
from core.enums import ItemKind, Visibility


@dataclass(frozen=True)
class Earning:
    """One item of the account: its royalties less what refunds took back."""

    item_kind: ItemKind
    id: int
    name: str
    visibility: Visibility
    uses: int
    earned: int


async def earnings(session: AsyncSession, account_id: int) -> list[Earning]:
    """Each dataset, then each model, of the account that is published or was ever used.

    Uses are matched by item, not by `PaidUse.owner_id`: an item keeps its earnings when its
    owner links their account into another one (the item moves, the old rows stay).
    """
    found: list[Earning] = []
    for kind, item in ((ItemKind.dataset, Dataset), (ItemKind.model, Model)):
        of_item = (PaidUse.item_kind == str(kind), PaidUse.item_id == item.id)
        earned = (
            select(func.coalesce(func.sum(PaidUse.royalty - PaidUse.reversed), 0))
            .where(*of_item)
            .correlate(item)
            .scalar_subquery()
        )
        used = exists(select(PaidUse.id).where(*of_item).correlate(item))
        rows = await session.execute(
            select(item.id, item.name, item.visibility, item.uses, earned)
            .where(
                item.account_id == account_id,
                or_(item.visibility != str(Visibility.private), used),
            )
            .order_by(item.id)
        )
        found.extend(
            Earning(kind, id_, name, Visibility(visibility), uses, int(total))
            for id_, name, visibility, uses, total in rows
        )
    return found
