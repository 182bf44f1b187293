"""A price to confirm, the same way for trainings, captions and generations.

A price screen keeps the price and its quote under a new summary id (older Confirm buttons go
stale), says the shortfall when the balance does not cover it, and when the daemon answers that
the quote no longer holds, shows the fresh one to be confirmed again.
"""

import secrets

from pydantic import BaseModel

from bots.common import texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import InsufficientPointsError, QuoteError, QuoteExpiredError
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen
from daemon.schemas import QuoteOut


def new_token() -> str:
    """A short random id that ties buttons to one conversation (or one summary)."""
    return secrets.token_urlsafe(6)


class PriceHold(BaseModel):
    """What a conversation remembers of the price it showed last."""

    summary_id: str | None = None
    cost: int | None = None
    quote_id: str | None = None  # the price shown holds under this id: Confirm pays exactly it


def quote_line(quote: QuoteOut | None) -> str:
    """`This price holds until 12:34 UTC.` (empty without a quote)."""
    if quote is None:
        return ""
    return "\n" + texts.QUOTE_HOLDS.format(until=quote.expires_at.strftime("%H:%M"))


def price_screen(
    hold: PriceHold,
    text: str,
    cost: int,
    quote: QuoteOut | None,
    balance: int,
    *,
    confirm: Action,
    back: Button,
) -> Screen:
    """A price to confirm with `confirm` (its arg: the new summary id), or leave with `back`."""
    hold.cost = quote.cost if quote is not None else cost
    hold.quote_id = quote.id if quote is not None else None
    hold.summary_id = new_token()
    if hold.cost > balance:
        text += "\n" + texts.SHORTFALL.format(
            shortfall=hold.cost - balance, balance=balance, cost=hold.cost
        )
    label = texts.BTN_CONFIRM.format(cost=hold.cost)
    return Screen(text, [[Button(label, confirm, hold.summary_id), back]])


def shortfall(exc: InsufficientPointsError) -> Screen:
    """The daemon refused for want of points: how many are missing, and where to get them."""
    balance, required = exc.details.get("balance", "?"), exc.details.get("required", "?")
    return Screen(texts.SHORTFALL.format(shortfall=exc.shortfall, balance=balance, cost=required))


async def requote(
    client: DaemonClient,
    actor: Actor,
    hold: PriceHold,
    exc: QuoteError,
    *,
    confirm: Action,
    back: Button,
) -> Screen:
    """The quoted price no longer holds: show the new one, to be confirmed again."""
    if exc.fresh_quote is None:
        raise exc  # a daemon that does not follow the contract: report it as it is
    quote = QuoteOut.model_validate(exc.fresh_quote)
    if isinstance(exc, QuoteExpiredError):
        text = texts.QUOTE_EXPIRED.format(cost=quote.cost)
    else:
        quoted = exc.details.get("quoted") or hold.cost or "?"
        text = texts.QUOTE_CHANGED.format(quoted=quoted, cost=quote.cost)
    balance = (await client.me(actor)).balance
    return price_screen(hold, text, quote.cost, quote, balance, confirm=confirm, back=back)
