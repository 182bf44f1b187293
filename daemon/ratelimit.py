"""Per-person request limits on the bots' RPC: a token bucket for each `X-User`.

One daemon keeps its buckets in memory; replicas on PostgreSQL share theirs in a table, so a
person spread over every replica still has one allowance.
"""

import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.accounts import canonical_identity
from core.db.models import RateLimitBucket
from core.errors import InvalidInput, RateLimited
from daemon.errors import Handler
from daemon.keys import ENGINE, RATE_LIMITER, SETTINGS

# The bots' own channel (delivery, progress messages to resume) is not a person's request.
BOTS_CHANNEL = ("/v1/notifications", "/v1/progress-messages")
# Nor is the bots' bookkeeping of a person's conversation: one read and at most one write per
# chat update, whose own calls are counted.
EXEMPT_PREFIXES = (*BOTS_CHANNEL, "/v1/conversations/")
# Nor is the language lookup the bots make before answering each update (the update's own
# calls are what the person's budget pays for).
EXEMPT_READS = frozenset({"/v1/me/language"})
# Past this many buckets, full (idle) ones are dropped so memory stays bounded.
MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Limiter(Protocol):
    """Spends one request of a key: 0.0 when allowed, else seconds until one is."""

    async def spend(self, key: str) -> float: ...


class RateLimiter:
    """Allows `burst` requests at once and `per_minute` sustained, per key (in memory)."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("a rate limit needs a positive rate and burst")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Spend one request of `key`: 0.0 when allowed, else seconds until one is."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._drop_idle(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def spend(self, key: str) -> float:
        """`take`, as a `Limiter`."""
        return self.take(key)

    def _drop_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }


class SharedRateLimiter:
    """The same buckets in PostgreSQL's `rate_limit_buckets`, one statement per request.

    The refill is computed by the database from its own clock, so replicas' clocks never
    disagree about a bucket; a refused request writes nothing.
    """

    def __init__(self, per_minute: int, burst: int, engine: AsyncEngine) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("a rate limit needs a positive rate and burst")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.engine = engine

    def _refilled(self) -> ColumnElement[float]:
        elapsed = func.extract("epoch", func.now() - RateLimitBucket.updated_at)
        return func.least(self.burst, RateLimitBucket.tokens + elapsed * self.rate)

    async def spend(self, key: str) -> float:
        """Spend one request of `key`: 0.0 when allowed, else seconds until one is."""
        refilled = self._refilled()
        spend = (
            insert(RateLimitBucket)
            .values(key=key, tokens=self.burst - 1.0, updated_at=func.now())
            .on_conflict_do_update(
                index_elements=[RateLimitBucket.key],
                set_={"tokens": refilled - 1.0, "updated_at": func.now()},
                where=refilled >= 1.0,
            )
            .returning(RateLimitBucket.tokens)
        )
        async with self.engine.begin() as connection:
            if (await connection.execute(spend)).first() is not None:
                return 0.0
            # Refused (the row stayed as it was): how long until its next token.
            tokens = await connection.scalar(select(refilled).where(RateLimitBucket.key == key))
        return max(1.0 - float(tokens or 0.0), 0.0) / self.rate


async def rate_limiter_ctx(app: web.Application) -> AsyncIterator[None]:
    """The limiter the settings ask for: in memory, or shared on PostgreSQL (after the engine)."""
    settings, engine = app[SETTINGS], app[ENGINE]
    per_minute, burst = settings.rate_limit_per_minute, settings.rate_limit_burst
    if per_minute <= 0:
        app[RATE_LIMITER] = None
    elif engine.dialect.name == "postgresql":
        app[RATE_LIMITER] = SharedRateLimiter(per_minute, burst, engine)
    else:
        app[RATE_LIMITER] = RateLimiter(per_minute, burst)
    yield


def _person(request: web.Request) -> str | None:
    """The canonical identity of the call, or None when it names nobody valid (the handler
    refuses such a call on its own)."""
    user = request.headers.get("X-User")
    if not user:
        return None
    try:
        return canonical_identity(user)
    except InvalidInput:
        return None


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """RateLimited (429, `Retry-After`) for a person who sends more than their share of calls.

    Keyed by the canonical identity, the same one the account comes from, so other spellings
    of one `X-User` share one allowance.
    """
    limiter = request.app.get(RATE_LIMITER)
    if limiter is None or not request.path.startswith("/v1/"):
        return await handler(request)
    if request.path.startswith(EXEMPT_PREFIXES) or (
        request.method == "GET" and request.path in EXEMPT_READS
    ):
        return await handler(request)
    person = _person(request)
    if person is None:
        return await handler(request)
    wait = await limiter.spend(person)
    if wait > 0:
        retry_after = round(wait, 2)
        raise RateLimited(
            f"too many requests; try again in {math.ceil(retry_after)} s", retry_after=retry_after
        )
    return await handler(request)
