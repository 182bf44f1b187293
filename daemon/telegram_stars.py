"""Telegram Stars from the daemon's side: refunds, and reconciling payments from Telegram's
own list of the bot's Star transactions.

The bot credits a `successful_payment` as it arrives; a payment whose update the bot could not
pass on (the daemon was down, the bot crashed) is still in `getStarTransactions`, whose incoming
transaction id is the payment's `telegram_payment_charge_id`. `reconcile` credits each such
payment of an order once (the same ledger key the bot's call uses), so none is lost.
"""

from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from core.errors import DomainError, ProviderFailed
from core.purchases import credit_unseen_payment
from core.settings import Settings
from daemon.keys import SESSIONMAKER, SETTINGS

log = structlog.get_logger(__name__)

TELEGRAM_API = "https://api.telegram.org"
# Telegram's answer when the charge was refunded before (e.g. by a call whose answer was lost).
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"
PAGE = 100  # getStarTransactions' largest page


@dataclass(frozen=True)
class StarPayment:
    """An incoming Star transaction of an invoice: who paid, how much, for which payload."""

    charge_id: str
    user_id: int
    amount: int
    invoice_payload: str


async def _call(settings: Settings, method: str, body: dict[str, Any]) -> Any:
    """One Bot API call; its `result`, or ProviderFailed saying why there is none."""
    if settings.telegram_token is None:
        raise ProviderFailed(
            "the daemon has no LORABOT_TELEGRAM_TOKEN, so it cannot reach Telegram Stars",
            code="PROVIDER_NOT_CONFIGURED",
        )
    base = (settings.telegram_api_base or TELEGRAM_API).rstrip("/")
    url = f"{base}/bot{settings.telegram_token.get_secret_value()}/{method}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
            http.post(url, json=body) as response,
        ):
            answer = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ProviderFailed(
            f"Telegram could not be reached for {method}: {exc!r}", code="PROVIDER_UNREACHABLE"
        ) from None
    if not isinstance(answer, dict) or not answer.get("ok"):
        description = answer.get("description", answer) if isinstance(answer, dict) else answer
        raise ProviderFailed(f"Telegram refused {method}: {description}", code="PROVIDER_REFUSED")
    return answer.get("result")


async def refund_star_payment(settings: Settings, user_id: int, charge_id: str) -> None:
    """Ask Telegram to return a Stars payment; ProviderFailed says why it did not.

    A charge Telegram already refunded counts as refunded: a retried refund is idempotent.
    """
    body = {"user_id": user_id, "telegram_payment_charge_id": charge_id}
    try:
        await _call(settings, "refundStarPayment", body)
    except ProviderFailed as exc:
        if ALREADY_REFUNDED not in exc.message:
            raise


async def star_payments(settings: Settings) -> list[StarPayment]:
    """Every incoming invoice payment in the bot's Star transactions, oldest first."""
    payments: list[StarPayment] = []
    offset = 0
    while True:
        result = await _call(settings, "getStarTransactions", {"offset": offset, "limit": PAGE})
        transactions = result.get("transactions", []) if isinstance(result, dict) else []
        for transaction in transactions:
            source = transaction.get("source") or {}
            if source.get("type") == "user" and source.get("invoice_payload"):
                payments.append(
                    StarPayment(
                        charge_id=str(transaction["id"]),
                        user_id=int(source["user"]["id"]),
                        amount=int(transaction["amount"]),
                        invoice_payload=str(source["invoice_payload"]),
                    )
                )
        if len(transactions) < PAGE:
            return payments
        offset += len(transactions)


async def reconcile(app: web.Application) -> int:
    """Credit the orders' payments Telegram took that the daemon has not seen; how many."""
    settings = app[SETTINGS]
    if settings.telegram_token is None:
        return 0
    try:
        payments = await star_payments(settings)
    except ProviderFailed as exc:
        log.warning("stars_reconcile_failed", error=exc.message)
        return 0
    credited = 0
    for payment in payments:
        try:
            async with app[SESSIONMAKER].begin() as session:
                created = await credit_unseen_payment(
                    session,
                    payload=payment.invoice_payload,
                    charge_id=payment.charge_id,
                    user_id=str(payment.user_id),
                    total_amount=payment.amount,
                )
        except DomainError as exc:
            # One payment that does not fit its order must not hold up the others.
            log.error("stars_payment_refused", charge_id=payment.charge_id, error=exc.message)
            continue
        if created:
            credited += 1
            log.warning("stars_payment_reconciled", charge_id=payment.charge_id)
    return credited
