"""Point packs bought with a payment provider, each credited once through the ledger.

Telegram Stars: `create_order` when the invoice is sent (it fixes points and price),
`check_order` at `pre_checkout_query`, `credit_order` at `successful_payment` (ledger key
`purchase:telegram_stars:<telegram_payment_charge_id>`, so a redelivered update credits once).
Discord: `credit_entitlement` at `ENTITLEMENT_CREATE` (key
`purchase:discord_sku:<entitlement id>`).

Refunds (operators) take the points back before the provider gives the money back:
`begin_refund` posts the `purchase_refund` debit (refused when the points were spent) and marks
the purchase `refunding`; the provider is called outside any transaction; `finish_refund` then
marks it `refunded`, or gives the points back when the provider refused. A purchase left
`refunding` (the daemon stopped in between) is retried by the next refund request, which the
provider answers "already refunded" if the first call did reach it.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import activity
from core.db.models import Purchase
from core.db.types import utcnow
from core.economy import Economy
from core.enums import ActivityKind, LedgerKind, Platform, PurchaseProvider, PurchaseStatus
from core.errors import Conflict, InsufficientPoints, InvalidInput, NotFound
from core.invoices import order_in_payload
from core.ledger import lock_account, post_entry

STARS = "XTR"
SKU = "SKU"
PAID = frozenset({PurchaseStatus.credited, PurchaseStatus.refunding, PurchaseStatus.refunded})


async def create_order(
    session: AsyncSession,
    economy: Economy,
    *,
    account_id: int,
    platform: Platform,
    platform_user_id: str,
    pack_id: str,
) -> Purchase:
    """A pending Telegram Stars order for a pack on sale (its invoice payload names it)."""
    if platform is not Platform.telegram:
        raise InvalidInput(
            "Telegram Stars orders are made from Telegram; on Discord, buy with /buy's buttons",
            code="WRONG_PLATFORM",
        )
    pack = economy.pack(pack_id)
    purchase = Purchase(
        account_id=account_id,
        provider=PurchaseProvider.telegram_stars,
        pack_id=pack.id,
        points=pack.points,
        price=pack.stars,
        currency=STARS,
        status=PurchaseStatus.pending,
        platform_user_id=platform_user_id,
    )
    session.add(purchase)
    await session.flush()
    return purchase


async def get_purchase(
    session: AsyncSession, purchase_id: int, account_id: int | None = None, *, lock: bool = False
) -> Purchase:
    """A purchase; with `account_id`, only that account's (others' look missing)."""
    query = select(Purchase).where(Purchase.id == purchase_id)
    if account_id is not None:
        query = query.where(Purchase.account_id == account_id)
    if lock:
        query = query.with_for_update()
    purchase = await session.scalar(query.execution_options(populate_existing=True))
    if purchase is None:
        raise NotFound(f"purchase {purchase_id} not found", purchase_id=purchase_id)
    return purchase


def _same_price(purchase: Purchase, currency: str, total_amount: int) -> None:
    if currency != purchase.currency or total_amount != purchase.price:
        raise Conflict(
            f"this invoice was for {purchase.price} {purchase.currency}, not "
            f"{total_amount} {currency}",
            code="PRICE_MISMATCH",
            price=purchase.price,
            currency=purchase.currency,
        )


async def check_order(
    session: AsyncSession,
    economy: Economy,
    *,
    account_id: int,
    purchase_id: int,
    currency: str,
    total_amount: int,
) -> Purchase:
    """Whether a pending order can still be paid (the answer to `pre_checkout_query`)."""
    purchase = await get_purchase(session, purchase_id, account_id)
    if purchase.status != PurchaseStatus.pending:
        raise Conflict(
            "this invoice was already paid; send /buy for a new one",
            code="PURCHASE_NOT_PENDING",
            status=purchase.status,
        )
    economy.pack(purchase.pack_id)
    _same_price(purchase, currency, total_amount)
    return purchase


async def credit_order(
    session: AsyncSession,
    *,
    account_id: int,
    purchase_id: int,
    charge_id: str,
    currency: str,
    total_amount: int,
) -> tuple[Purchase, bool]:
    """Credit a paid order once; the same charge again returns it (created=False).

    The money is taken by now, so the order's points are credited even when its pack was
    withdrawn since the invoice.
    """
    await lock_account(session, account_id)
    purchase = await get_purchase(session, purchase_id, account_id, lock=True)
    if purchase.status in PAID:
        if purchase.charge_id == charge_id:
            return purchase, False
        raise Conflict(
            f"purchase {purchase.id} was paid by another charge",
            code="PURCHASE_NOT_PENDING",
            status=purchase.status,
        )
    _same_price(purchase, currency, total_amount)
    await _charge_unused(session, PurchaseProvider.telegram_stars, charge_id)
    await _credit(session, purchase, charge_id)
    return purchase, True


async def credit_unseen_payment(
    session: AsyncSession, *, payload: str, charge_id: str, user_id: str, total_amount: int
) -> bool:
    """Credit a payment found in Telegram's Star transactions unless it was credited already;
    True when this call credited it. A payload of no order of this payer's is skipped; a
    payment `credit_order` refuses (another price, a charge that paid another order) raises."""
    purchase_id = order_in_payload(payload)
    purchase = None if purchase_id is None else await session.get(Purchase, purchase_id)
    if (
        purchase is None
        or purchase.provider != PurchaseProvider.telegram_stars
        or purchase.platform_user_id != user_id
        or purchase.status in PAID
    ):
        return False
    _, created = await credit_order(
        session,
        account_id=purchase.account_id,
        purchase_id=purchase.id,
        charge_id=charge_id,
        currency=STARS,
        total_amount=total_amount,
    )
    return created


async def credit_entitlement(
    session: AsyncSession,
    economy: Economy,
    *,
    account_id: int,
    platform: Platform,
    platform_user_id: str,
    entitlement_id: str,
    sku_id: str,
) -> tuple[Purchase, bool]:
    """Credit a Discord consumable entitlement once; a redelivered one returns the first."""
    if platform is not Platform.discord:
        raise InvalidInput("Discord entitlements belong to Discord users", code="WRONG_PLATFORM")
    pack = economy.pack_for_sku(sku_id)
    if pack is None:
        raise NotFound(
            f"no point pack is sold as the Discord SKU {sku_id}", code="SKU_UNKNOWN", sku_id=sku_id
        )
    await lock_account(session, account_id)
    existing = await _by_charge(session, PurchaseProvider.discord_sku, entitlement_id)
    if existing is not None:
        if existing.account_id != account_id:
            raise Conflict(
                f"entitlement {entitlement_id} was credited to another account",
                code="ENTITLEMENT_CLAIMED",
            )
        return existing, False
    purchase = Purchase(
        account_id=account_id,
        provider=PurchaseProvider.discord_sku,
        pack_id=pack.id,
        points=pack.points,
        price=0,
        currency=SKU,
        status=PurchaseStatus.pending,
        platform_user_id=platform_user_id,
    )
    session.add(purchase)
    await session.flush()
    await _credit(session, purchase, entitlement_id)
    return purchase, True


async def _by_charge(
    session: AsyncSession, provider: PurchaseProvider, charge_id: str
) -> Purchase | None:
    return await session.scalar(
        select(Purchase).where(Purchase.provider == provider, Purchase.charge_id == charge_id)
    )


async def _charge_unused(
    session: AsyncSession, provider: PurchaseProvider, charge_id: str
) -> None:
    if await _by_charge(session, provider, charge_id) is not None:
        raise Conflict(
            f"charge {charge_id!r} already paid another purchase", code="CHARGE_ALREADY_USED"
        )


async def _credit(session: AsyncSession, purchase: Purchase, charge_id: str) -> None:
    await post_entry(
        session,
        account_id=purchase.account_id,
        delta=purchase.points,
        kind=LedgerKind.purchase,
        idempotency_key=f"purchase:{purchase.provider}:{charge_id}",
        reference=f"purchase:{purchase.id}",
        fingerprint=purchase.pack_id,
    )
    purchase.status = PurchaseStatus.credited
    purchase.charge_id = charge_id
    purchase.credited_at = utcnow()
    await _record(session, purchase, ActivityKind.purchase)


async def _record(session: AsyncSession, purchase: Purchase, kind: ActivityKind) -> None:
    """The buyer's activity: a purchase credited or refunded (each once per purchase)."""
    await activity.record(
        session,
        account_id=purchase.account_id,
        kind=kind,
        payload={
            "purchase_id": purchase.id,
            "pack_id": purchase.pack_id,
            "points": purchase.points,
            "provider": purchase.provider,
        },
        dedupe_key=f"{kind}:{purchase.id}",
    )


async def list_purchases(
    session: AsyncSession,
    account_id: int | None = None,
    *,
    status: PurchaseStatus | None = None,
    limit: int = 50,
) -> list[Purchase]:
    """Purchases, newest first; of one account when `account_id` is given."""
    query = select(Purchase)
    if account_id is not None:
        query = query.where(Purchase.account_id == account_id)
    if status is not None:
        query = query.where(Purchase.status == status)
    return list(await session.scalars(query.order_by(Purchase.id.desc()).limit(limit)))


async def begin_refund(session: AsyncSession, purchase_id: int) -> Purchase:
    """Take a purchase's points back and mark it `refunding` (see the module's rules).

    Refused (409 PURCHASE_POINTS_SPENT) when the balance no longer holds the points; a
    purchase already refunding is returned as it is, for the provider call to be retried.
    """
    purchase = await get_purchase(session, purchase_id, lock=True)
    if purchase.provider != PurchaseProvider.telegram_stars:
        raise Conflict(
            "Discord refunds SKU purchases itself (through Discord support); take the points "
            "back with a negative grant if Discord refunded it",
            code="REFUND_UNSUPPORTED",
        )
    if purchase.status == PurchaseStatus.pending:
        raise Conflict(f"purchase {purchase.id} was never paid", code="PURCHASE_NOT_PAID")
    if purchase.status != PurchaseStatus.credited:
        return purchase
    purchase.refund_attempts += 1
    try:
        await post_entry(
            session,
            account_id=purchase.account_id,
            delta=-purchase.points,
            kind=LedgerKind.purchase_refund,
            idempotency_key=f"purchase_refund:{purchase.id}:{purchase.refund_attempts}",
            reference=f"purchase:{purchase.id}",
        )
    except InsufficientPoints as exc:
        raise Conflict(
            f"the points of purchase {purchase.id} were already spent: the account holds "
            f"{exc.details['balance']} of its {purchase.points} points; nothing was refunded",
            code="PURCHASE_POINTS_SPENT",
            balance=exc.details["balance"],
            points=purchase.points,
        ) from None
    purchase.status = PurchaseStatus.refunding
    purchase.refund_error = None
    return purchase


async def finish_refund(
    session: AsyncSession, purchase_id: int, *, error: str | None, now: datetime | None = None
) -> Purchase:
    """Settle a refund after the provider answered: refunded, or the points given back."""
    purchase = await get_purchase(session, purchase_id, lock=True)
    if purchase.status != PurchaseStatus.refunding:
        return purchase
    if error is None:
        purchase.status = PurchaseStatus.refunded
        purchase.refunded_at = now or utcnow()
        # Told once the provider gave the money back: a refused refund gives the points back.
        await _record(session, purchase, ActivityKind.purchase_refunded)
        return purchase
    await post_entry(
        session,
        account_id=purchase.account_id,
        delta=purchase.points,
        kind=LedgerKind.purchase_refund,
        idempotency_key=f"purchase_refund_undone:{purchase.id}:{purchase.refund_attempts}",
        reference=f"purchase:{purchase.id}",
    )
    purchase.status = PurchaseStatus.credited
    purchase.refund_error = error[:2000]
    return purchase


@dataclass(frozen=True)
class ProviderTotals:
    """What one provider sold: credited purchases (refunded ones included) and refunds."""

    purchases: int
    points: int
    price: int
    refunded: int
    refunded_points: int


async def totals_by_provider(session: AsyncSession) -> dict[str, ProviderTotals]:
    """Purchases and refunds per provider (every provider present, zeros when none)."""
    refunded = Purchase.status == PurchaseStatus.refunded
    rows = await session.execute(
        select(
            Purchase.provider,
            func.count(),
            func.coalesce(func.sum(Purchase.points), 0),
            func.coalesce(func.sum(Purchase.price), 0),
            func.count().filter(refunded),
            func.coalesce(func.sum(Purchase.points).filter(refunded), 0),
        )
        .where(Purchase.status.in_([str(status) for status in PAID]))
        .group_by(Purchase.provider)
    )
    totals = {str(p): ProviderTotals(0, 0, 0, 0, 0) for p in PurchaseProvider}
    for provider, *numbers in rows:
        totals[provider] = ProviderTotals(*(int(n) for n in numbers))
    return totals
