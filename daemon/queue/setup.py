"""Wire the queue into the app: the executor, and the leader's dispatcher and scheduler.

With SQLite the one daemon runs the queue; on PostgreSQL every replica has an executor and
the elected one (`daemon.queue.leadership`) runs the dispatcher and the scheduler.
"""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import conversations, notifications
from core.dataset_images import reclaim_orphan_blobs
from core.db.types import utcnow
from core.quotes import purge_expired as purge_expired_quotes
from core.settings import Settings
from core.web_sign_in import purge_expired as purge_expired_sign_ins
from daemon import telegram_stars
from daemon.executors.base import Executor
from daemon.executors.local import LocalExecutor
from daemon.keys import (
    BLOBS,
    DISPATCHER,
    ENGINE,
    EVENTS,
    EXECUTOR,
    SCHEDULER,
    SESSIONMAKER,
    SETTINGS,
)
from daemon.observability import METRICS_OBJECT
from daemon.pg_events import asyncpg_dsn
from daemon.queue import upkeep
from daemon.queue.dispatcher import Dispatcher
from daemon.queue.leadership import Leadership

log = structlog.get_logger(__name__)

UPKEEP_INTERVAL = timedelta(hours=1)
NOTIFICATION_SWEEP_SECONDS = 5.0


def setup_queue(app: web.Application) -> None:
    """Add the queue's cleanup contexts (after the engine, blob store and events)."""
    app.cleanup_ctx.extend([_executor_ctx, _duties_ctx])


async def _executor_ctx(app: web.Application) -> AsyncIterator[None]:
    app[EXECUTOR] = _executor(app[SETTINGS])
    yield
    await app[EXECUTOR].close()


def _executor(settings: Settings) -> Executor:
    if settings.executor == "ray":
        # Imported only here: Ray loads in a daemon configured for it, and nowhere else.
        from daemon.executors.ray import RayExecutor

        return RayExecutor(
            address=settings.ray_address,
            resource=settings.ray_resource,
            slots=settings.ray_slots,
            worker_data_dir=settings.ray_worker_data_dir,
            warm_idle_seconds=settings.generation_idle_seconds,
        )
    return LocalExecutor(
        settings.workers,
        gpus=settings.gpu_ids,
        warm_idle_seconds=settings.generation_idle_seconds,
    )


async def _duties_ctx(app: web.Application) -> AsyncIterator[None]:
    # On PostgreSQL several replicas may share the queue: only the elected one runs it.
    duties = QueueDuties(app)
    if app[ENGINE].dialect.name == "postgresql":
        leadership = Leadership(
            asyncpg_dsn(app[SETTINGS].resolved_database_url),
            on_won=duties.start,
            on_lost=duties.step_down,
        )
        leadership.start()
        yield
        await leadership.close()
        return
    await duties.start()
    assert duties.dispatcher is not None and duties.scheduler is not None
    app[DISPATCHER], app[SCHEDULER] = duties.dispatcher, duties.scheduler
    yield
    await duties.stop()


class QueueDuties:
    """The leader's work: the dispatcher, and the scheduler's reaper, sweeps and upkeep."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.dispatcher: Dispatcher | None = None
        self.scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        """Requeue the orphans of any other owner, then dispatch and schedule."""
        app, events = self.app, self.app[EVENTS]
        self.dispatcher = Dispatcher(
            settings=app[SETTINGS],
            sessionmaker=app[SESSIONMAKER],
            executor=app[EXECUTOR],
            blobs=app[BLOBS],
            wake=events.jobs_changed,
            wait=events.wait_jobs_changed,
            notify=events.notifications_added,
            updated=events.job_updated,
            # Unique per term: jobs held under any other owner when it starts are orphans.
            owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            metrics=app[METRICS_OBJECT],
        )
        await self.dispatcher.start()
        self.scheduler = _scheduler(app, self.dispatcher)
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and dispatching (the executor's context closes the workers)."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.dispatcher is not None:
            await self.dispatcher.close()
            self.dispatcher = None

    async def step_down(self) -> None:
        """Stop, and kill this replica's workers: the next leader requeues their jobs."""
        await self.stop()
        executor = self.app[EXECUTOR]
        for attempt in executor.running():
            await executor.kill(attempt)


def _scheduler(app: web.Application, dispatcher: Dispatcher) -> AsyncIOScheduler:
    settings = app[SETTINGS]
    # APScheduler logs every run of every job at INFO: far too chatty for seconds-apart jobs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    reap_every = max(min(settings.lease_seconds / 3, 5.0), 0.5)
    scheduler.add_job(dispatcher.reap, "interval", seconds=reap_every, **common)
    scheduler.add_job(
        _wake_expired_notifications,
        "interval",
        args=[app],
        seconds=NOTIFICATION_SWEEP_SECONDS,
        **common,
    )
    scheduler.add_job(
        run_upkeep,
        "interval",
        args=[app],
        seconds=UPKEEP_INTERVAL.total_seconds(),
        next_run_time=utcnow() + timedelta(seconds=30),
        **common,
    )
    if settings.telegram_token is not None:
        scheduler.add_job(
            telegram_stars.reconcile,
            "interval",
            args=[app],
            seconds=settings.stars_reconcile_seconds,
            next_run_time=utcnow() + timedelta(seconds=5),
            **common,
        )
    return scheduler


async def _wake_expired_notifications(app: web.Application) -> None:
    # Expired delivery leases make rows pending again; waiting long polls should hear of it.
    async with app[SESSIONMAKER]() as session:
        platforms = await notifications.platforms_with_expired_leases(
            session, max_deliveries=app[SETTINGS].notification_max_deliveries
        )
    for platform in platforms:
        app[EVENTS].notifications_added(platform)


async def run_upkeep(app: web.Application) -> upkeep.UpkeepReport:
    """One upkeep pass: link codes, quotes, web sign-ins, conversations, orphan blobs,
    finished jobs' files, cache budget."""
    settings, report = app[SETTINGS], upkeep.UpkeepReport()
    async with app[SESSIONMAKER].begin() as session:
        report.link_codes = await upkeep.expire_link_codes(session)
        report.quotes = await purge_expired_quotes(session)
        report.web_sign_ins = await purge_expired_sign_ins(session)
        report.conversations = await conversations.purge_expired(session)
    async with app[SESSIONMAKER]() as session:
        referenced = await upkeep.referenced_model_keys(session)
        dirs = upkeep.job_dir_ids(settings.data_dir)
        finished = await upkeep.finished_job_ids(session, dirs)
    live = {attempt.job_id for attempt in app[EXECUTOR].running()}
    report.orphan_blobs = await reclaim_orphan_blobs(
        app[SESSIONMAKER], app[BLOBS], temp_older_than_seconds=upkeep.ORPHAN_MIN_AGE_SECONDS
    )
    report.orphan_blobs += await upkeep.sweep_orphan_model_files(app[BLOBS], referenced)
    report.job_dirs = await asyncio.to_thread(
        upkeep.clear_job_outputs, settings.data_dir, finished - live
    )
    removed, freed = await asyncio.to_thread(
        upkeep.enforce_cache_budget,
        settings.data_dir / "cache",
        settings.latent_cache_budget_bytes,
    )
    report.cache_files, report.cache_bytes_freed = removed, freed
    log.info("upkeep done", **report.to_dict())
    return report
