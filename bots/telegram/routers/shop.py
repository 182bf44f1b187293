"""/buy and the Telegram Stars checkout: invoice, pre-checkout answer, payment and receipt.

The logic lives in `bots.common.shop`; a Buy button reaches it through `bots.common.dispatch`
and comes back as an `Invoice`, sent here.
"""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import LabeledPrice, Message, PreCheckoutQuery

from bots.common import shop, texts
from bots.common.client import DaemonClient
from bots.telegram.callbacks import packer
from bots.telegram.render import actor, screen_kwargs


async def cmd_buy(message: Message, client: DaemonClient) -> None:
    """The packs on sale, a Buy button each."""
    assert message.from_user is not None
    screen = await shop.telegram_shop(client, actor(message.from_user))
    await message.answer(**screen_kwargs(screen, packer(message.from_user.id)))


async def send_invoice(bot: Bot, chat_id: int, invoice: shop.Invoice) -> None:
    """An invoice in Telegram Stars: one price, no provider token."""
    await bot.send_invoice(
        chat_id=chat_id,
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        currency=invoice.currency,
        prices=[LabeledPrice(label=invoice.label, amount=invoice.amount)],
        provider_token="",
    )


async def on_pre_checkout(query: PreCheckoutQuery, client: DaemonClient) -> None:
    """Answer within Telegram's 10 seconds, whatever happens: go on, or why not."""
    try:
        problem = await shop.check(
            client,
            actor(query.from_user),
            query.invoice_payload,
            query.currency,
            query.total_amount,
        )
    except Exception:
        await query.answer(ok=False, error_message=str(texts.CHECKOUT_FAILED))
        raise
    if problem is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=problem)


async def on_paid(message: Message, client: DaemonClient) -> None:
    """The payment is taken: credit it and send the receipt (not again on a redelivery)."""
    assert message.from_user is not None and message.successful_payment is not None
    payment = message.successful_payment
    receipt = await shop.credit_stars(
        client,
        actor(message.from_user),
        payload=payment.invoice_payload,
        charge_id=payment.telegram_payment_charge_id,
        currency=payment.currency,
        total_amount=payment.total_amount,
    )
    if receipt is not None:
        await message.answer(receipt.text)


def build() -> Router:
    """The shop router (before the journey's: a payment message is no typed answer)."""
    router = Router(name="shop")
    router.message.register(cmd_buy, Command("buy"))
    router.message.register(on_paid, F.successful_payment)
    router.pre_checkout_query.register(on_pre_checkout)
    return router
