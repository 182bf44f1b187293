"""Buying points, front-end neutral: the packs on sale, orders, checkout and receipts.

Telegram sells a pack as an invoice in Telegram Stars whose payload names the daemon's order
(`purchase:<id>`); Discord sells it as a consumable SKU whose entitlement the daemon credits.
Either way the daemon credits once per payment (keyed by the charge or entitlement id), so a
redelivered update or event is harmless; its answer (201 or 200) tells a first credit apart.
"""

import asyncio
from dataclasses import dataclass

import structlog

from bots.common import texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, PackUnavailableError, RpcError, SkuUnknownError
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen
from core.invoices import invoice_payload, order_in_payload
from daemon.schemas import PackOut

log = structlog.get_logger(__name__)

# Telegram fails a checkout that is not answered within 10 s; the answer itself needs some.
CHECKOUT_SECONDS = 8.0


@dataclass(frozen=True)
class Invoice:
    """A Telegram Stars invoice for one order: what `sendInvoice` is given."""

    purchase_id: int
    title: str
    description: str
    currency: str
    label: str
    amount: int

    @property
    def payload(self) -> str:
        return invoice_payload(self.purchase_id)


@dataclass(frozen=True)
class Redemption:
    """What became of a Discord entitlement: consume it once the daemon holds the purchase;
    a receipt only the first time it was credited."""

    credited: bool
    receipt: Screen | None


async def telegram_shop(client: DaemonClient, actor: Actor) -> Screen:
    """The packs on sale with a Buy button each, and the balance."""
    packs = await client.packs(actor)
    if not packs:
        return Screen(texts.NO_PACKS)
    account = await client.me(actor)
    lines = [texts.SHOP.format(balance=account.balance), *map(texts.pack_line, packs)]
    rows = [
        [Button(texts.BTN_BUY.format(points=p.points, stars=p.stars), Action.buy_pack, p.id)]
        for p in packs
    ]
    return Screen("\n".join(map(str, lines)), rows)


async def discord_shop(client: DaemonClient, actor: Actor) -> tuple[Screen, list[PackOut]]:
    """The packs sold as Discord SKUs (the front-end shows Discord's purchase buttons)."""
    packs = [p for p in await client.packs(actor) if p.discord_sku_id]
    if not packs:
        return Screen(texts.NO_PACKS_DISCORD), []
    account = await client.me(actor)
    lines = [
        texts.SHOP.format(balance=account.balance),
        *(texts.pack_line(p, discord=True) for p in packs),
    ]
    return Screen("\n".join(map(str, lines))), packs


async def order(client: DaemonClient, actor: Actor, pack_id: str) -> Invoice | Screen:
    """Order a pack: its invoice, or a screen saying it is no longer on sale."""
    packs = {p.id: p for p in await client.packs(actor)}
    try:
        purchase = await client.create_purchase(actor, pack_id)
    except PackUnavailableError:
        return Screen(texts.PACK_UNAVAILABLE)
    pack = packs.get(pack_id)
    title = pack.title if pack else purchase.pack_id
    description = (pack.description if pack else "") or texts.INVOICE_DESCRIPTION.format(
        points=purchase.points
    )
    return Invoice(
        purchase.id,
        title,
        description,
        purchase.currency,
        texts.INVOICE_LABEL.format(points=purchase.points),
        purchase.price,
    )


async def check(
    client: DaemonClient, actor: Actor, payload: str, currency: str, total_amount: int
) -> str | None:
    """Telegram's pre-checkout: None when the payment may go on, else the text shown to the
    payer. Always within `CHECKOUT_SECONDS`, also when the daemon is unreachable."""
    purchase_id = order_in_payload(payload)
    if purchase_id is None:
        return str(texts.CHECKOUT_REFUSED["NOT_FOUND"])
    try:
        async with asyncio.timeout(CHECKOUT_SECONDS):
            await client.check_purchase(actor, purchase_id, currency, total_amount)
    except RpcError as exc:
        log.info("checkout_refused", purchase_id=purchase_id, code=exc.code)
        return str(texts.CHECKOUT_REFUSED.get(exc.code, texts.CHECKOUT_FAILED))
    except (DaemonUnavailable, TimeoutError) as exc:
        log.warning("checkout_unanswered", purchase_id=purchase_id, error=repr(exc))
        return str(texts.CHECKOUT_DOWN)
    return None


async def credit_stars(
    client: DaemonClient,
    actor: Actor,
    *,
    payload: str,
    charge_id: str,
    currency: str,
    total_amount: int,
) -> Screen | None:
    """Telegram's successful payment: credit it; the receipt, or None for a redelivery."""
    purchase_id = order_in_payload(payload)
    try:
        if purchase_id is None:
            raise ValueError(f"payload {payload!r} names no order")
        purchase, created = await client.purchase_paid(
            actor, purchase_id, charge_id=charge_id, currency=currency, total_amount=total_amount
        )
    except (RpcError, DaemonUnavailable, ValueError) as exc:
        # The money is taken: the log line is what an operator credits it from.
        log.error(
            "payment_not_credited",
            user=actor.header,
            purchase_id=purchase_id,
            charge_id=charge_id,
            currency=currency,
            total_amount=total_amount,
            error=repr(exc),
        )
        return Screen(texts.PAYMENT_NOT_CREDITED.format(reference=charge_id))
    if not created:
        log.info("payment_redelivered", purchase_id=purchase.id, charge_id=charge_id)
        return None
    log.info("payment_credited", purchase_id=purchase.id, points=purchase.points)
    return Screen(texts.receipt(purchase))


async def credit_entitlement(
    client: DaemonClient, actor: Actor, entitlement_id: int, sku_id: int
) -> Redemption:
    """A Discord entitlement: credit its pack once; an unknown SKU is left unconsumed."""
    try:
        purchase, created = await client.entitlement_purchase(
            actor, str(entitlement_id), str(sku_id)
        )
    except SkuUnknownError:
        log.warning("entitlement_sku_unknown", entitlement_id=entitlement_id, sku_id=sku_id)
        return Redemption(False, None)
    if not created:
        log.info("entitlement_redelivered", entitlement_id=entitlement_id)
        return Redemption(True, None)
    log.info("entitlement_credited", purchase_id=purchase.id, points=purchase.points)
    return Redemption(True, Screen(texts.receipt(purchase)))
