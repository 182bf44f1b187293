"""Prometheus metrics and structlog access logs for every request.

Queue and worker metrics are observed by the dispatcher as things happen (a first start, an
attempt's end, a job's failure); the job, ledger and points-bought figures are read from the
database at each scrape, the source of truth across daemon restarts.
"""

import time
from collections.abc import Iterator

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from core.db.models import LedgerEntry
from core.jobs import jobs_by_status
from core.purchases import totals_by_provider
from daemon.errors import Handler
from daemon.keys import METRICS, READ_SESSIONMAKER

access_log = structlog.get_logger("lorabot.access")


# Queue waits run from seconds (an idle queue) to hours (a busy one).
QUEUE_WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


class PointsBought(Collector):
    """`lorabot_points_bought_total` by provider: a counter whose source is the purchases
    table (credited ones, refunded later included), read at each scrape."""

    def __init__(self) -> None:
        self.by_provider: dict[str, int] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "lorabot_points_bought", "Points bought by provider.", labels=["provider"]
        )
        for provider, points in sorted(self.by_provider.items()):
            family.add_metric([provider], points)
        yield family


class Metrics:
    """The daemon's metrics, on a registry of its own (one per app, so tests do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lorabot_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lorabot_http_request_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            registry=self.registry,
        )
        self.jobs = Gauge("lorabot_jobs", "Jobs by status.", ["status"], registry=self.registry)
        self.points = Gauge(
            "lorabot_ledger_points",
            "Sum of ledger deltas by kind (grows as points are granted, spent, refunded).",
            ["kind"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "lorabot_queue_wait_seconds",
            "Seconds from a job's submission to its first start.",
            buckets=QUEUE_WAIT_BUCKETS,
            registry=self.registry,
        )
        self.gpu_busy = Counter(
            "lorabot_gpu_busy_seconds",
            "Seconds worker slots spent on attempts, by slot (the lease owner).",
            ["slot"],
            registry=self.registry,
        )
        self.failures = Counter(
            "lorabot_job_failures",
            "Jobs failed after their last attempt, by reason (core.operator_analytics).",
            ["reason"],
            registry=self.registry,
        )
        self.points_bought = PointsBought()
        self.registry.register(self.points_bought)

    async def refresh_from_db(self, app: web.Application) -> None:
        """Read the job and ledger gauges from the database (the source of truth)."""
        async with app[READ_SESSIONMAKER]() as session:
            for status, count in (await jobs_by_status(session)).items():
                self.jobs.labels(status=status).set(count)
            rows = await session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.delta)).group_by(LedgerEntry.kind)
            )
            for kind, total in rows:
                self.points.labels(kind=kind).set(int(total or 0))
            totals = await totals_by_provider(session)
        self.points_bought.by_provider = {name: t.points for name, t in totals.items()}


METRICS_OBJECT = web.AppKey("metrics_object", Metrics)


def route_name(request: web.Request) -> str:
    """The route's template (`/v1/jobs/{id}`), so labels stay few; unknown paths collapse."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, time and log every request (outermost, so errors are seen with their status)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = route_name(request)
        metrics = request.app[METRICS_OBJECT]
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        access_log.info(
            "request",
            method=request.method,
            path=request.path,
            route=route,
            status=status,
            ms=round(elapsed * 1000, 1),
            user=request.headers.get("X-User"),
        )


def install_metrics(app: web.Application) -> Metrics:
    """Create the app's metrics and store them under their keys."""
    metrics = Metrics()
    app[METRICS_OBJECT] = metrics
    app[METRICS] = metrics.registry
    return metrics
