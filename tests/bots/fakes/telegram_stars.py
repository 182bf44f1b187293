"""Telegram Stars payments of the fake Bot API: invoices, checkout, payment and refunds.

The wire formats follow the Bot API: `sendInvoice` (currency XTR, one price, empty provider
token), the `pre_checkout_query` update (PreCheckoutQuery{id, from, currency, total_amount,
invoice_payload}) that the bot must answer with `answerPreCheckoutQuery` within 10 seconds, the
`successful_payment` message Telegram sends only after an `ok` answer, and
`refundStarPayment(user_id, telegram_payment_charge_id)` with Telegram's error texts.
"""

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Telegram keeps a checkout open this long for the bot's answer, then fails the payment.
CHECKOUT_ANSWER_SECONDS = 10.0


class BotApiError(Exception):
    """A refusal answered as `{"ok": false, "error_code", "description"}`."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class InvoiceSent:
    """An invoice the bot sent, as `sendInvoice` received it."""

    chat_id: int
    message_id: int
    title: str
    description: str
    payload: str
    currency: str
    prices: list[dict[str, Any]]
    provider_token: str | None

    @property
    def total_amount(self) -> int:
        return sum(int(p["amount"]) for p in self.prices)


@dataclass
class Charge:
    """A payment Telegram took: who paid, how much, and whether it was refunded."""

    user_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    refunded: bool = False
    date: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Refund:
    """A `refundStarPayment` call that Telegram carried out."""

    user_id: int
    charge_id: str


@dataclass
class StarsState:
    """What the payment side of the fake remembers."""

    invoices: list[InvoiceSent] = field(default_factory=list)
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)  # query id → the query
    checkout_answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → answer
    charges: dict[str, Charge] = field(default_factory=dict)
    refunds: list[Refund] = field(default_factory=list)


class StarsPayments:
    """Mixed into `FakeTelegram`: its Stars methods and the payer's side of a checkout."""

    stars: StarsState
    _changed: asyncio.Condition
    _ids: "itertools.count[int]"

    if TYPE_CHECKING:  # what FakeTelegram provides

        def _message(self, chat_id: int, **fields: Any) -> dict[str, Any]: ...

        def _store(
            self, method: str, chat_id: int, message: dict[str, Any], **extra: Any
        ) -> None: ...

        def _push(self, update: dict[str, Any], *, times: int = 1) -> dict[str, Any]: ...

        def _user_message(self, user_id: int, **fields: Any) -> dict[str, Any]: ...

    # -- the Bot API -------------------------------------------------------------------
    async def _m_sendinvoice(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        prices = json.loads(p["prices"]) if isinstance(p["prices"], str) else p["prices"]
        currency = p["currency"]
        if currency == "XTR" and (len(prices) != 1 or p.get("provider_token")):
            # Telegram's rule for Stars: exactly one price and an empty provider token.
            raise BotApiError(400, "Bad Request: STARS_INVOICE_INVALID")
        if not p.get("description"):
            raise BotApiError(400, "Bad Request: invoice description is empty")
        invoice = {
            "title": p["title"],
            "description": p["description"],
            "start_parameter": p.get("start_parameter") or "",
            "currency": currency,
            "total_amount": sum(int(x["amount"]) for x in prices),
        }
        msg = self._message(chat_id, invoice=invoice)
        self._store("sendInvoice", chat_id, msg)
        self.stars.invoices.append(
            InvoiceSent(
                chat_id,
                msg["message_id"],
                p["title"],
                p["description"],
                p["payload"],
                currency,
                prices,
                p.get("provider_token"),
            )
        )
        return msg

    async def _m_answerprecheckoutquery(self, p: dict[str, Any]) -> bool:
        query_id = str(p["pre_checkout_query_id"])
        if query_id not in self.stars.checkouts or query_id in self.stars.checkout_answers:
            raise BotApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        ok = _flag(p["ok"])
        if not ok and not p.get("error_message"):
            raise BotApiError(400, "Bad Request: ERROR_MESSAGE_EMPTY")
        self.stars.checkout_answers[query_id] = {
            "ok": ok,
            "error_message": p.get("error_message"),
            "at": time.monotonic(),
        }
        return True

    async def _m_refundstarpayment(self, p: dict[str, Any]) -> bool:
        charge_id = str(p["telegram_payment_charge_id"])
        charge = self.stars.charges.get(charge_id)
        if charge is None or charge.user_id != int(p["user_id"]):
            raise BotApiError(400, "Bad Request: CHARGE_NOT_FOUND")
        if charge.refunded:
            raise BotApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        self.stars.refunds.append(Refund(charge.user_id, charge_id))
        return True

    async def _m_getstartransactions(self, p: dict[str, Any]) -> dict[str, Any]:
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 100))
        if not 1 <= limit <= 100:
            raise BotApiError(400, "Bad Request: LIMIT_INVALID")
        transactions: list[dict[str, Any]] = []
        for charge_id, charge in self.stars.charges.items():
            user = {"id": charge.user_id, "is_bot": False, "first_name": f"user{charge.user_id}"}
            transactions.append(
                {
                    "id": charge_id,
                    "amount": charge.total_amount,
                    "date": charge.date,
                    "source": {
                        "type": "user",
                        "transaction_type": "invoice_payment",
                        "user": user,
                        "invoice_payload": charge.invoice_payload,
                    },
                }
            )
        for refund in self.stars.refunds:
            charge = self.stars.charges[refund.charge_id]
            user = {"id": refund.user_id, "is_bot": False, "first_name": f"user{refund.user_id}"}
            # A refund is an outgoing transaction with the id of the payment it returns.
            transactions.append(
                {
                    "id": refund.charge_id,
                    "amount": charge.total_amount,
                    "date": charge.date,
                    "receiver": {"type": "user", "user": user},
                }
            )
        return {"transactions": transactions[offset : offset + limit]}

    # -- acting as the payer -----------------------------------------------------------
    def pre_checkout(
        self,
        user_id: int,
        invoice: InvoiceSent,
        *,
        currency: str | None = None,
        total_amount: int | None = None,
    ) -> str:
        """The user presses Pay on the invoice: a `pre_checkout_query`; returns its id."""
        query = {
            "id": str(next(self._ids)),
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "currency": currency or invoice.currency,
            "total_amount": invoice.total_amount if total_amount is None else total_amount,
            "invoice_payload": invoice.payload,
        }
        self.stars.checkouts[query["id"]] = query
        self._push({"pre_checkout_query": query})
        return str(query["id"])

    async def checkout_answer(
        self, query_id: str, timeout: float = CHECKOUT_ANSWER_SECONDS
    ) -> dict[str, Any]:
        """The bot's answer to a pre-checkout query: `ok`, `error_message` and `at`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while query_id not in self.stars.checkout_answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"pre-checkout query {query_id} was not answered")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
        return self.stars.checkout_answers[query_id]

    def successful_payment(self, user_id: int, invoice: InvoiceSent, *, times: int = 1) -> str:
        """Telegram takes the payment and sends the message (`times=2`: redelivered)."""
        charge_id = f"stxTEST{secrets.token_hex(12)}"
        self.stars.charges[charge_id] = Charge(
            user_id, invoice.currency, invoice.total_amount, invoice.payload
        )
        payment = {
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
            "invoice_payload": invoice.payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",  # Stars have no outside provider
        }
        message = self._user_message(user_id, successful_payment=payment)
        self._push({"message": message}, times=times)
        return charge_id

    async def pay(self, user_id: int, invoice: InvoiceSent, *, times: int = 1) -> str:
        """The whole checkout: pre-checkout, the bot's `ok`, then the successful payment."""
        answer = await self.checkout_answer(self.pre_checkout(user_id, invoice))
        if not answer["ok"]:
            raise AssertionError(f"checkout refused: {answer['error_message']}")
        return self.successful_payment(user_id, invoice, times=times)

    async def wait_invoice(self, after: int = 0, timeout: float = 30.0) -> InvoiceSent:
        """The first invoice sent from index `after` of `stars.invoices`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while len(self.stars.invoices) <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no invoice was sent")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
        return self.stars.invoices[after]


def _flag(value: Any) -> bool:
    """A Bot API boolean: JSON true/false, or "true"/"false" in a form."""
    return value is True or str(value).lower() == "true"
