"""Wire the queue into the app: executor, dispatcher and scheduler, each a cleanup context."""

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

from core import notifications
from core.dataset_images import reclaim_orphan_blobs
from core.db.types import utcnow
from core.quotes import purge_expired as purge_expired_quotes
from core.web_sign_in import purge_expired as purge_expired_sign_ins
from daemon import telegram_stars
from daemon.executors.local import LocalExecutor
from daemon.keys import BLOBS, DISPATCHER, EVENTS, EXECUTOR, SCHEDULER, SESSIONMAKER, SETTINGS
from daemon.observability import METRICS_OBJECT
from daemon.queue import upkeep
from daemon.queue.dispatcher import Dispatcher

log = structlog.get_logger(__name__)

UPKEEP_INTERVAL = timedelta(hours=1)
NOTIFICATION_SWEEP_SECONDS = 5.0


def setup_queue(app: web.Application) -> None:
    """Add the queue's cleanup contexts (after the engine, blob store and events)."""
    app.cleanup_ctx.extend([_executor_ctx, _dispatcher_ctx, _scheduler_ctx])


async def _executor_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[EXECUTOR] = LocalExecutor(
        settings.workers,
        gpus=settings.gpu_ids,
        warm_idle_seconds=settings.generation_idle_seconds,
    )
    yield
    await app[EXECUTOR].close()


async def _dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    events = app[EVENTS]
    dispatcher = Dispatcher(
        settings=app[SETTINGS],
        sessionmaker=app[SESSIONMAKER],
        executor=app[EXECUTOR],
        blobs=app[BLOBS],
        wake=events.jobs_changed,
        wait=events.wait_jobs_changed,
        notify=events.notifications_added,
        updated=events.job_updated,
        # Unique per daemon run: jobs held under any other owner at start are orphans.
        owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        metrics=app[METRICS_OBJECT],
    )
    await dispatcher.start()
    app[DISPATCHER] = dispatcher
    yield
    await dispatcher.close()


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # APScheduler logs every run of every job at INFO: far too chatty for seconds-apart jobs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    reap_every = max(min(settings.lease_seconds / 3, 5.0), 0.5)
    scheduler.add_job(app[DISPATCHER].reap, "interval", seconds=reap_every, **common)
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
    scheduler.start()
    app[SCHEDULER] = scheduler
    yield
    scheduler.shutdown(wait=False)


async def _wake_expired_notifications(app: web.Application) -> None:
    # Expired delivery leases make rows pending again; waiting long polls should hear of it.
    async with app[SESSIONMAKER]() as session:
        platforms = await notifications.platforms_with_expired_leases(
            session, max_deliveries=app[SETTINGS].notification_max_deliveries
        )
    for platform in platforms:
        app[EVENTS].notifications_added(platform)


async def run_upkeep(app: web.Application) -> upkeep.UpkeepReport:
    """One upkeep pass: link codes, quotes, web sign-ins, orphan blobs, finished jobs' files,
    cache budget."""
    settings, report = app[SETTINGS], upkeep.UpkeepReport()
    async with app[SESSIONMAKER].begin() as session:
        report.link_codes = await upkeep.expire_link_codes(session)
        report.quotes = await purge_expired_quotes(session)
        report.web_sign_ins = await purge_expired_sign_ins(session)
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
