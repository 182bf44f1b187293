"""Operator analytics against a known history (jobs with known queue waits, durations,
failures and slots; debits, refunds and purchases on known days), and the queue, worker,
failure and purchase metrics scraped from /metrics after real events."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from core.db.models import Job, LedgerEntry, Purchase
from core.enums import JobKind, JobStatus, PurchaseStatus
from core.operator_analytics import failure_reason
from core.worker_protocol import JobFile
from daemon.app import create_app
from daemon.executors.base import Executor, Exited, WorkerEvent, attempt_of_job_file
from daemon.keys import BLOBS, SESSIONMAKER, SETTINGS
from daemon.observability import METRICS_OBJECT
from daemon.queue.dispatcher import Dispatcher
from tests.conftest import ADMIN_HEADERS, job_body, make_account, make_dataset, user_headers
from tests.daemon.economy import write_economy


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, second, tzinfo=UTC)


def job(account_id: int, kind: JobKind, offering: str, cost: int, **fields: Any) -> Job:
    return Job(
        account_id=account_id,
        kind=kind,
        offering_id=offering,
        preset="fast",
        params={},
        overrides={},
        cost=cost,
        idempotency_key=f"k{id(fields)}-{cost}-{offering}",
        request_hash="h",
        reply_to={},
        **fields,
    )


def entry(account_id: int, delta: int, kind: str, when: datetime, n: int) -> LedgerEntry:
    return LedgerEntry(
        account_id=account_id,
        delta=delta,
        kind=kind,
        idempotency_key=f"history:{n}",
        request_hash="h",
        balance_after=0,
        created_at=when,
    )


def purchase(account_id: int, provider: str, points: int, status: str, when: datetime | None):
    return Purchase(
        account_id=account_id,
        provider=provider,
        pack_id="p",
        points=points,
        price=1,
        currency="XTR",
        status=status,
        charge_id=f"c-{provider}-{points}",
        platform_user_id="1",
        credited_at=when,
    )


async def make_history(client: TestClient) -> None:
    """Jobs and money of 10–12 January 2030, and some just before (outside the range)."""
    async with client.app[SESSIONMAKER].begin() as session:
        a = (await make_account(session, platform_user_id="9901")).id
        b = (await make_account(session, platform_user_id="9902")).id
        jobs = [
            # completed: waited 30 s, busy 600 s on slot A
            job(a, JobKind.train, "tiny-lora", 50, status=JobStatus.completed,
                created_at=at(10, 10), started_at=at(10, 10, 0, 30),
                finished_at=at(10, 10, 10, 30), lease_owner="host-a:1:aa"),
            # failed, refunded: waited 120 s, busy 180 s on slot B
            job(b, JobKind.train, "sd15-lora", 30, refunded=30, status=JobStatus.failed,
                error="the worker stopped answering (lease expired)",
                created_at=at(10, 11), started_at=at(10, 11, 2), finished_at=at(10, 11, 5),
                lease_owner="host-b:2:bb"),
            # failed caption: waited 10 s, busy 60 s on slot A
            job(a, JobKind.caption, "captioner", 4, refunded=4, status=JobStatus.failed,
                error="RuntimeError: boom", created_at=at(11, 9),
                started_at=at(11, 9, 0, 10), finished_at=at(11, 9, 1, 10),
                lease_owner="host-a:1:aa"),
            # still queued
            job(b, JobKind.generate, "tiny-lora", 6, status=JobStatus.queued,
                created_at=at(12, 8)),
            # before the range
            job(a, JobKind.train, "tiny-lora", 100, status=JobStatus.completed,
                created_at=at(5, 8), started_at=at(5, 8, 1), finished_at=at(5, 9),
                lease_owner="host-a:1:aa"),
        ]  # fmt: skip
        session.add_all(jobs)
        money = [
            (a, -50, "training_debit", at(10, 10)),
            (b, -30, "training_debit", at(10, 11)),
            (b, 30, "refund", at(10, 11, 5)),
            (a, -4, "caption_debit", at(11, 9)),
            (a, 4, "refund", at(11, 9, 1)),
            (b, -6, "generation_debit", at(12, 8)),
            (a, -100, "training_debit", at(5, 8)),
            (a, 500, "purchase", at(11, 12)),  # bought points are not spent ones
            (a, 77, "grant", at(11, 12)),
        ]
        session.add_all(entry(*row, n) for n, row in enumerate(money))
        session.add_all(
            [
                purchase(a, "telegram_stars", 500, PurchaseStatus.credited, at(11, 12)),
                purchase(b, "discord_sku", 2000, PurchaseStatus.refunded, at(12, 13)),
                purchase(b, "telegram_stars", 900, PurchaseStatus.pending, None),
                purchase(a, "telegram_stars", 50, PurchaseStatus.credited, at(5, 12)),
            ]
        )


async def test_the_figures_of_a_known_history(client: TestClient) -> None:
    await make_history(client)
    response = await client.get(
        "/admin/analytics",
        params={"from": "2030-01-10", "to": "2030-01-12"},
        headers=ADMIN_HEADERS,
    )
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert (answer["from"], answer["to"]) == ("2030-01-10", "2030-01-12")
    assert answer["days"] == [
        {"date": "2030-01-10", "jobs_submitted": 2, "jobs_completed": 1, "jobs_failed": 1,
         "points_spent": 50, "points_bought": 0},
        {"date": "2030-01-11", "jobs_submitted": 1, "jobs_completed": 0, "jobs_failed": 1,
         "points_spent": 0, "points_bought": 500},
        {"date": "2030-01-12", "jobs_submitted": 1, "jobs_completed": 0, "jobs_failed": 0,
         "points_spent": 6, "points_bought": 2000},
    ]  # fmt: skip
    # Waits of 10, 30 and 120 seconds: nearest-rank median 30, 95th percentile 120.
    assert answer["queue_wait_seconds"] == {"count": 3, "p50": 30.0, "p95": 120.0}
    assert answer["gpu_busy_seconds"] == [
        {"slot": "host-a:1:aa", "seconds": 660.0},
        {"slot": "host-b:2:bb", "seconds": 180.0},
    ]
    assert answer["failures_by_reason"] == [
        {"reason": "RuntimeError", "count": 1},
        {"reason": "lease_expired", "count": 1},
    ]
    assert answer["top_offerings"] == [
        {"offering_id": "tiny-lora", "jobs": 2, "points": 56},
        {"offering_id": "captioner", "jobs": 1, "points": 0},
        {"offering_id": "sd15-lora", "jobs": 1, "points": 0},
    ]
    assert answer["revenue"] == {
        "points_bought": 2500,
        "purchases": 2,
        "by_provider": {"telegram_stars": 500, "discord_sku": 2000},
    }


async def test_an_empty_range_has_every_day_with_zeros_and_no_percentiles(
    client: TestClient,
) -> None:
    response = await client.get("/admin/analytics", headers=ADMIN_HEADERS)
    answer = await response.json()
    assert len(answer["days"]) == 30 and answer["days"][-1]["date"] == answer["to"]
    assert answer["days"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert all(day["jobs_submitted"] == 0 for day in answer["days"])
    assert answer["queue_wait_seconds"] == {"count": 0, "p50": None, "p95": None}


async def test_bad_ranges_are_400_and_the_route_is_for_operators(client: TestClient) -> None:
    cases = [
        ({"from": "2030-01-12", "to": "2030-01-10"}, "is after to"),
        ({"from": "2029-01-01", "to": "2030-01-10"}, "covers 375 days; at most 366"),
        ({"from": "2030-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
    ]
    for params, message in cases:
        response = await client.get("/admin/analytics", params=params, headers=ADMIN_HEADERS)
        assert response.status == 400, params
        error = (await response.json())["error"]
        assert error["code"] == "INVALID_INPUT" and message in error["message"], error
    assert (await client.get("/admin/analytics", headers=user_headers())).status == 401


def test_failure_reasons_class_the_daemons_own_messages() -> None:
    assert failure_reason("the worker exited with code -9: killed") == "worker_exited"
    assert failure_reason("no training progress for 600 seconds") == "stalled"
    assert failure_reason("the job cannot run: image file gone") == "inputs_missing"
    assert failure_reason("OutOfMemoryError: CUDA out of memory") == "out_of_memory"
    assert failure_reason("ValueError: bad") == "ValueError"
    assert failure_reason("something odd") == "other"
    assert failure_reason(None) == "unknown"


class ExitingExecutor(Executor):
    """One slot whose worker exits with an error a little after it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.live: set[Any] = set()

    @property
    def slots(self) -> int:
        return 1

    def running(self) -> set[Any]:
        return set(self.live)

    async def start(self, job: JobFile) -> None:
        attempt = attempt_of_job_file(job)
        self.live.add(attempt)
        asyncio.get_running_loop().call_later(0.05, self._exit, attempt)

    def _exit(self, attempt: Any) -> None:
        self.live.discard(attempt)
        self.events.put_nowait(WorkerEvent(attempt, Exited(1, "Traceback\nboom")))

    async def stop(self, attempt: Any, *, grace_seconds: float) -> None:
        self.live.discard(attempt)

    async def kill(self, attempt: Any) -> None:
        self.live.discard(attempt)

    async def close(self) -> None:
        self.live.clear()


def sample(text: str, name: str) -> float:
    """The value of one sample line of a Prometheus text exposition."""
    for line in text.splitlines():
        if line.rsplit(" ", 1)[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics:\n{text}")


async def test_metrics_after_real_starts_exits_failures_and_purchases(
    aiohttp_client: Any, make_settings: Any, tmp_path: Any
) -> None:
    settings = make_settings(max_attempts=1, economy_file=write_economy(tmp_path))
    client = await aiohttp_client(create_app(settings))
    app = client.app
    headers = user_headers("telegram:9911")
    async with app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id="9911", balance=1000)
        runnable = await make_dataset(session, account.id, images=4, blobs=app[BLOBS])
        missing = await make_dataset(session, account.id, images=4)  # no image files stored
    for key, dataset in (("run", runnable), ("gone", missing)):
        queued = await client.post("/v1/jobs", json=job_body(dataset.id, key), headers=headers)
        assert queued.status == 201, await queued.text()
    executor = ExitingExecutor()
    dispatcher = Dispatcher(
        settings=app[SETTINGS],
        sessionmaker=app[SESSIONMAKER],
        executor=executor,
        blobs=app[BLOBS],
        wake=lambda: None,
        wait=asyncio.sleep,
        notify=lambda platform: None,
        updated=lambda: None,
        owner="test-host:1:slots",
        metrics=app[METRICS_OBJECT],
    )
    assert await dispatcher.dispatch_once() == 1  # the first job takes the one slot
    exited = await asyncio.wait_for(executor.events.get(), timeout=10)
    await dispatcher.apply_events([exited])
    assert await dispatcher.dispatch_once() == 0  # the second fails while it is prepared
    order = await client.post("/v1/purchases", json={"pack_id": "small"}, headers=headers)
    paid = {"charge_id": "charge-1", "currency": "XTR", "total_amount": 10}
    credited = await client.post(
        f"/v1/purchases/{(await order.json())['id']}/paid", json=paid, headers=headers
    )
    assert credited.status == 201, await credited.text()
    text = await (await client.get("/metrics")).text()
    assert sample(text, "lorabot_queue_wait_seconds_count") == 2
    assert sample(text, 'lorabot_gpu_busy_seconds_total{slot="test-host:1:slots"}') >= 0.05
    assert sample(text, 'lorabot_job_failures_total{reason="worker_exited"}') == 1
    assert sample(text, 'lorabot_job_failures_total{reason="inputs_missing"}') == 1
    assert sample(text, 'lorabot_points_bought_total{provider="telegram_stars"}') == 100
    assert sample(text, 'lorabot_points_bought_total{provider="discord_sku"}') == 0
