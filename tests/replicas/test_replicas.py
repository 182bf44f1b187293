"""Several daemons on one PostgreSQL: one leader at a time, wake-ups and the rate limit shared."""

import asyncio
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from core.db.migrate import upgrade_to_head
from core.db.session import create_engine
from daemon.events import Events
from daemon.pg_events import PgEvents, asyncpg_dsn
from daemon.queue.leadership import LOCK_KEY, Leadership
from daemon.ratelimit import SharedRateLimiter
from tests.conftest import job_body
from tests.queue.conftest import rpc, wait_for
from tests.replicas.conftest import funded_dataset, two_replicas

pytestmark = pytest.mark.postgres


class Term:
    """Records a replica's leadership: won and lost, as the queue would start and stop."""

    def __init__(self) -> None:
        self.leading = False
        self.terms = 0

    async def won(self) -> None:
        self.leading, self.terms = True, self.terms + 1

    async def lost(self) -> None:
        self.leading = False


async def _holder_pid(dsn: str) -> int | None:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND ((classid::bigint << 32) | objid::bigint) = $1",
            LOCK_KEY,
        )
    finally:
        await connection.close()


async def test_one_leader_at_a_time_and_a_lost_connection_hands_over(
    replica_database: str,
) -> None:
    dsn = asyncpg_dsn(replica_database)
    first, second = Term(), Term()
    leaders = [
        Leadership(dsn, on_won=t.won, on_lost=t.lost, retry_seconds=0.2) for t in (first, second)
    ]
    leaders[0].start()

    async def first_leads() -> bool:
        return first.leading

    await wait_for(first_leads, timeout=5, what="the first to lead")
    leaders[1].start()
    await asyncio.sleep(1.0)  # several tries of the second, all refused
    assert (first.leading, second.leading) == (True, False)

    holder = await _holder_pid(dsn)
    assert holder is not None
    killer = await asyncpg.connect(dsn)
    await killer.fetchval("SELECT pg_terminate_backend($1)", holder)
    await killer.close()
    started = time.monotonic()

    async def handed_over() -> bool:
        return second.leading and not first.leading

    await wait_for(handed_over, timeout=5, every=0.05, what="the second to take over")
    assert time.monotonic() - started < 3.0
    await asyncio.sleep(0.6)  # the first campaigns again but the lock is the second's now
    assert (first.leading, second.leading, second.terms) == (False, True, 1)
    for leadership in leaders:
        await leadership.close()
    assert not second.leading  # closing steps down; the lock went with the connection
    assert await _holder_pid(dsn) is None


async def test_shared_buckets_refuse_past_the_burst_and_say_when(replica_database: str) -> None:
    engine = create_engine(replica_database)
    await upgrade_to_head(engine)
    replicas = [SharedRateLimiter(per_minute=60, burst=3, engine=engine) for _ in range(2)]
    try:
        waits = [await replicas[i % 2].spend("telegram:1") for i in range(4)]
        assert waits[:3] == [0.0, 0.0, 0.0]
        assert 0.5 < waits[3] <= 1.0  # one token a second, and the refused call spent none
        assert await replicas[1].spend("telegram:2") == 0.0  # buckets are per person
        await asyncio.sleep(1.05)
        assert await replicas[0].spend("telegram:1") == 0.0
        assert await replicas[1].spend("telegram:1") > 0.0
    finally:
        await engine.dispose()


async def test_a_burst_over_both_replicas_is_limited_as_one_bucket(
    tmp_path: Path, replica_database: str, http: aiohttp.ClientSession
) -> None:
    env = {"LORABOT_RATE_LIMIT_PER_MINUTE": "6", "LORABOT_RATE_LIMIT_BURST": "10"}
    with two_replicas(tmp_path / "data", replica_database, env) as replicas:
        statuses: dict[str, list[int]] = {"a": [], "b": []}
        for i in range(24):
            name = "ab"[i % 2]
            daemon = replicas[i % 2]
            headers = {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": "telegram:77"}
            async with http.get(f"{daemon.url}/v1/me", headers=headers) as response:
                statuses[name].append(response.status)
                if response.status == 429:
                    assert float(response.headers["Retry-After"]) > 0
    allowed = [s for name in "ab" for s in statuses[name] if s == 200]
    assert len(allowed) == 10, statuses  # one allowance of 10, not 10 on each replica
    assert 429 in statuses["a"] and 429 in statuses["b"], statuses


async def test_a_long_poll_on_b_wakes_within_a_second_of_a_cancel_on_a(
    tmp_path: Path, replica_database: str, http: aiohttp.ClientSession
) -> None:
    user = "telegram:5151"
    env = {"LORABOT_RUN_QUEUE": "false"}  # the job stays queued: the cancel writes the row
    with two_replicas(tmp_path / "data", replica_database, env) as (a, b):
        dataset = await funded_dataset(http, a, user)
        job = await rpc(http, a, "POST", "/v1/jobs", user=user, json=job_body(dataset))
        await asyncio.sleep(1.0)  # both listeners are long connected

        async def long_poll() -> tuple[list[dict[str, object]], float]:
            headers = {"Authorization": f"Bearer {b.rpc_token}"}
            url = f"{b.url}/v1/notifications?platform=telegram&wait=20"
            async with http.get(url, headers=headers) as response:
                body = await response.json()
            return body["notifications"], time.monotonic()

        polling = asyncio.create_task(long_poll())
        await asyncio.sleep(1.0)
        assert not polling.done(), "nothing was pending: the poll waits"
        await rpc(http, a, "POST", f"/v1/jobs/{job['id']}/cancel", user=user)
        cancelled_at = time.monotonic()
        notifications, answered_at = await asyncio.wait_for(polling, 20)
    assert [n["kind"] for n in notifications] == ["job_cancelled"]
    # Without the NOTIFY, B would look again only after its 5 s recheck.
    assert answered_at - cancelled_at < 1.0


async def test_wake_ups_cross_replicas_and_do_not_echo(replica_database: str) -> None:
    dsn = asyncpg_dsn(replica_database)
    here, there = Events(), Events()
    relays = [PgEvents(dsn, events) for events in (here, there)]
    for events, relay in zip((here, there), relays, strict=True):
        events.relay_to(relay.relay)
        relay.start()
    try:
        for relay in relays:
            await asyncio.wait_for(relay.connected.wait(), 5)
        await asyncio.sleep(0.2)  # the catch-up wake-ups of connecting are done with
        await there.wait_jobs_changed(0)  # consumed, so only a new one counts below
        seen = there.job_updates_generation()
        here.job_updated()  # a job's progress on the leader: the other's monitors hear it
        assert await there.wait_job_updated(1.0, after=seen)
        here.jobs_changed()  # a submit on one replica wakes the other's dispatcher
        assert await there.wait_jobs_changed(1.0)
        mine = here.job_updates_generation()
        await asyncio.sleep(0.3)
        assert here.job_updates_generation() == mine  # its own NOTIFY did not fire it again
    finally:
        for events, relay in zip((here, there), relays, strict=True):
            events.relay_to(None)
            await relay.close()
