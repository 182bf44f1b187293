"""Point packs, purchases (Telegram Stars orders, Discord entitlements) and the economy."""

from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import Field

from core.enums import PurchaseProvider, PurchaseStatus
from daemon.schemas.common import Answer, Body

if TYPE_CHECKING:
    from core.db.models import Purchase

SNOWFLAKE = Field(pattern=r"^[0-9]{1,20}$")


class PackOut(Answer):
    id: str
    title: str
    description: str
    points: int
    stars: int = Field(description="Price in Telegram Stars (currency XTR).")
    discord_sku_id: str | None = Field(description="The Discord consumable SKU, where sold.")


class PacksOut(Answer):
    packs: list[PackOut]


class OrderIn(Body):
    pack_id: str = Field(min_length=1, max_length=32)


class CheckoutIn(Body):
    """What Telegram's `pre_checkout_query` says will be paid."""

    currency: str = Field(min_length=1, max_length=16)
    total_amount: int = Field(strict=True, ge=0, le=10**9)


class PaidIn(CheckoutIn):
    """Telegram's `successful_payment`."""

    charge_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="`telegram_payment_charge_id`: the key that credits the purchase once.",
    )


class EntitlementIn(Body):
    """A Discord `ENTITLEMENT_CREATE` of the acting Discord user."""

    entitlement_id: str = SNOWFLAKE
    sku_id: str = SNOWFLAKE


class PurchaseOut(Answer):
    id: int
    provider: PurchaseProvider
    pack_id: str
    points: int
    price: int = Field(description="In `currency` units (Telegram Stars for XTR; 0 for SKU).")
    currency: str
    status: PurchaseStatus
    charge_id: str | None
    balance: int = Field(description="The account's balance now.")
    created_at: datetime
    credited_at: datetime | None
    refunded_at: datetime | None

    @classmethod
    def of(cls, purchase: "Purchase", balance: int) -> Self:
        """A purchase with the balance of its account."""
        return cls(
            id=purchase.id,
            provider=PurchaseProvider(purchase.provider),
            pack_id=purchase.pack_id,
            points=purchase.points,
            price=purchase.price,
            currency=purchase.currency,
            status=PurchaseStatus(purchase.status),
            charge_id=purchase.charge_id,
            balance=balance,
            created_at=purchase.created_at,
            credited_at=purchase.credited_at,
            refunded_at=purchase.refunded_at,
        )


class PurchasesOut(Answer):
    purchases: list[PurchaseOut]


class AdminPurchaseOut(PurchaseOut):
    account_id: int
    platform_user_id: str
    refund_error: str | None

    @classmethod
    def of(cls, purchase: "Purchase", balance: int) -> Self:
        base = PurchaseOut.of(purchase, balance).model_dump()
        return cls(
            **base,
            account_id=purchase.account_id,
            platform_user_id=purchase.platform_user_id,
            refund_error=purchase.refund_error,
        )


class AdminPurchasesQuery(Body):
    status: PurchaseStatus | None = None
    limit: int = Field(100, ge=1, le=1000)


class AdminPurchasesOut(Answer):
    purchases: list[AdminPurchaseOut]


class ProviderTotals(Answer):
    purchases: int = Field(description="Purchases credited (refunded ones included).")
    points: int
    price: int = Field(description="Money taken, in the provider's unit (Stars for Telegram).")
    refunded: int = Field(description="Purchases refunded.")
    refunded_points: int


class RoyaltyTotals(Answer):
    uses: int = Field(description="Paid uses of others' items.")
    paid: int = Field(description="Royalty points credited to owners.")
    reversed: int = Field(description="Royalty points taken back by refunded uses.")
    unrecovered: int = Field(description="Royalty points owners had spent before a reversal.")


class EconomyOut(Answer):
    purchases_by_provider: dict[str, ProviderTotals]
    royalties: RoyaltyTotals
    points_outstanding: int = Field(description="The sum of every balance.")
    ledger_by_kind: dict[str, int] = Field(description="Net points moved by each ledger kind.")
