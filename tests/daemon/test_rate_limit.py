"""One person cannot flood the RPC; others, and the bots' delivery channel, are unaffected."""

import math
from collections.abc import Callable
from typing import Any

import pytest

from core.settings import Settings
from daemon.app import create_app
from daemon.ratelimit import RateLimiter
from tests.conftest import RPC_HEADERS, user_headers


def test_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)  # one token a second
    assert limiter.take("b") == 0.0  # buckets are per person
    now[0] += 1.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_a_limit_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(per_minute=0, burst=1)


async def test_flooding_gets_429_with_retry_after(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(rate_limit_per_minute=6, rate_limit_burst=3)
    client = await aiohttp_client(create_app(settings))
    alice, bob = user_headers("telegram:1"), user_headers("telegram:2")
    statuses = [(await client.get("/v1/me", headers=alice)).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await client.get("/v1/me", headers=alice)
    body = await refused.json()
    # One token every 10 s: the wait is what is left of that since the burst began (the
    # requests themselves take a moment, longer on a loaded machine).
    retry_after = body["error"]["details"]["retry_after"]
    assert refused.status == 429 and body["error"]["code"] == "RATE_LIMITED"
    assert 5.0 < retry_after <= 10.0
    assert refused.headers["Retry-After"] == str(math.ceil(retry_after))
    assert (await client.get("/v1/me", headers=bob)).status == 200
    polled = await client.get("/v1/notifications?platform=telegram&wait=0", headers=RPC_HEADERS)
    assert polled.status == 200


async def test_zero_turns_the_limit_off(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(rate_limit_per_minute=0)))
    headers = user_headers("telegram:1")
    statuses = {(await client.get("/v1/me", headers=headers)).status for _ in range(80)}
    assert statuses == {200}
