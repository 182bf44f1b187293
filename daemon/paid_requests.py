"""What every paid request's routes share: holding a price, and answering a submission.

A submission (a training, a caption job, a generation) answers 201 with what it created, or
200 with what a repeated idempotency key created before; a stale quote is refused (409) with a
fresh one in `details.quote`, so the person sees the new price first.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from core.db.models import Quote
from core.quotes import QuoteStale, issue_quote
from daemon.answers import json_answer
from daemon.keys import ECONOMY, EVENTS, SESSIONMAKER
from daemon.schemas import QuoteOut
from daemon.schemas.common import Answer

T = TypeVar("T")


async def hold_price(request: web.Request, account_id: int, fingerprint: str, cost: int) -> Quote:
    """A quote of `cost` for one request, in a transaction of its own (an estimate only reads;
    a refused job's transaction rolls back)."""
    async with request.app[SESSIONMAKER].begin() as session:
        return await issue_quote(
            session,
            account_id=account_id,
            fingerprint=fingerprint,
            cost=cost,
            ttl_seconds=request.app[ECONOMY].market.quote_ttl_seconds,
        )


async def run_submission(
    request: web.Request, submit: Callable[[], Awaitable[tuple[T, bool]]]
) -> tuple[T, bool]:
    """Run a paid submission (one transaction): what it created (or a repeated key created
    before) and whether it is new; see the module."""
    try:
        answer, created = await submit()
    except QuoteStale as exc:
        quote = await hold_price(request, exc.account_id, exc.fingerprint, exc.cost)
        exc.details["quote"] = QuoteOut.model_validate(quote).model_dump(mode="json")
        raise
    except IntegrityError:
        # A concurrent submit with the same key won the unique constraint (our transaction
        # was rolled back): a second pass finds what it created and answers that.
        answer, created = await submit()
    if created:
        request.app[EVENTS].jobs_changed()
    return answer, created


async def submit_and_answer(
    request: web.Request, submit: Callable[[], Awaitable[tuple[Answer, bool]]]
) -> web.Response:
    """Run a paid submission and answer it: 201 when new, 200 for a repeated key."""
    answer, created = await run_submission(request, submit)
    return json_answer(answer, status=201 if created else 200)
