"""Typed keys of the application's shared resources."""

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.economy import Economy
from core.offerings import OfferingRegistry
from core.settings import Settings
from daemon.events import Events

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from core.blobs import BlobStore
    from daemon.executors.base import Executor
    from daemon.queue.dispatcher import Dispatcher
    from daemon.ratelimit import Limiter

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessionmaker")
# Sessions of transactions that only read (no write lock on SQLite): GET routes, estimates.
READ_SESSIONMAKER: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("read_sessionmaker")
OFFERINGS = web.AppKey("offerings", OfferingRegistry)
ECONOMY = web.AppKey("economy", Economy)
BLOBS: web.AppKey["BlobStore"] = web.AppKey("blobs")
EVENTS = web.AppKey("events", Events)
METRICS = web.AppKey("metrics", CollectorRegistry)
RATE_LIMITER: web.AppKey["Limiter | None"] = web.AppKey("rate_limiter")
# The training queue: set by `daemon.queue.setup.setup_queue`.
EXECUTOR: web.AppKey["Executor"] = web.AppKey("executor")
DISPATCHER: web.AppKey["Dispatcher"] = web.AppKey("dispatcher")
SCHEDULER: web.AppKey["AsyncIOScheduler"] = web.AppKey("scheduler")
