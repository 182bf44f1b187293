"""Price quotes: the price a summary shows holds for a while, for exactly that request.

Confirm sends the quote back with the job: the job is charged exactly the quoted price, or,
when the quote expired or the price changed since, refused with the new price to show first
(`QuoteStale`, answered 409 with a fresh quote).
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Quote
from core.db.types import utcnow
from core.errors import Conflict


class QuoteStale(Conflict):
    """The quote expired (QUOTE_EXPIRED) or the price moved (QUOTE_CHANGED) (409)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        quoted: int | None,
        cost: int,
        account_id: int,
        fingerprint: str,
    ) -> None:
        super().__init__(message, code=code, quoted=quoted, cost=cost)
        # What a fresh quote needs: whose, for which request, at what price.
        self.account_id, self.fingerprint, self.cost = account_id, fingerprint, cost


async def issue_quote(
    session: AsyncSession,
    *,
    account_id: int,
    fingerprint: str,
    cost: int,
    ttl_seconds: int,
    now: datetime | None = None,
) -> Quote:
    """A new quote of `cost` for the request with this fingerprint."""
    quote = Quote(
        id=secrets.token_urlsafe(12),
        account_id=account_id,
        fingerprint=fingerprint,
        cost=cost,
        expires_at=(now or utcnow()) + timedelta(seconds=ttl_seconds),
    )
    session.add(quote)
    await session.flush()
    return quote


async def honour_quote(
    session: AsyncSession,
    quote_id: str,
    *,
    account_id: int,
    fingerprint: str,
    cost: int,
    now: datetime | None = None,
) -> None:
    """Pass when the quote is the account's, for this request, unexpired and of `cost`."""
    quote = await session.get(Quote, quote_id)
    if quote is None or quote.account_id != account_id or quote.fingerprint != fingerprint:
        raise QuoteStale(
            "that price quote is not for this training; here is the current price",
            code="QUOTE_EXPIRED",
            quoted=None,
            cost=cost,
            account_id=account_id,
            fingerprint=fingerprint,
        )
    if quote.expires_at <= (now or utcnow()):
        raise QuoteStale(
            f"the quoted price of {quote.cost} points has expired; the price now is {cost}",
            code="QUOTE_EXPIRED",
            quoted=quote.cost,
            cost=cost,
            account_id=account_id,
            fingerprint=fingerprint,
        )
    if quote.cost != cost:
        raise QuoteStale(
            f"the price changed from the quoted {quote.cost} to {cost} points",
            code="QUOTE_CHANGED",
            quoted=quote.cost,
            cost=cost,
            account_id=account_id,
            fingerprint=fingerprint,
        )


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete quotes that expired (upkeep); returns how many."""
    result = await session.execute(delete(Quote).where(Quote.expires_at <= (now or utcnow())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
