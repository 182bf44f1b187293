"""The aiohttp application: resources as cleanup contexts, middlewares, every route table."""

import importlib
import pkgutil
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

import daemon.routes
from core.blobs import open_blob_store
from core.db.migrate import upgrade_to_head
from core.db.session import create_engine, make_read_sessionmaker, make_sessionmaker
from core.economy import Economy
from core.offerings import OfferingRegistry
from core.settings import Settings
from daemon.answer_check import ANSWER_MISMATCHES, answer_check_middleware
from daemon.auth import auth_middleware
from daemon.errors import error_middleware, server_logger
from daemon.events import Events
from daemon.keys import (
    BLOBS,
    ECONOMY,
    ENGINE,
    EVENTS,
    OFFERINGS,
    READ_SESSIONMAKER,
    SESSIONMAKER,
    SETTINGS,
)
from daemon.locales import platform_locale_middleware
from daemon.observability import install_metrics, observe_middleware
from daemon.pg_events import pg_events_ctx
from daemon.queue.setup import setup_queue
from daemon.ratelimit import rate_limit_middleware, rate_limiter_ctx
from daemon.web import setup_web
from daemon.web.sessions import web_session_middleware

log = structlog.get_logger("lorabot.daemon")

# Multipart uploads are bounded by settings.max_upload_bytes; JSON bodies by the validator.
MIN_CLIENT_MAX_SIZE = 1024 * 1024


def create_app(settings: Settings) -> web.Application:
    """Build the daemon; the offerings and economy files are validated here, so a bad one
    fails at once."""
    checks = [answer_check_middleware] if settings.check_answers else []
    app = web.Application(
        middlewares=[
            observe_middleware,
            *checks,
            error_middleware,
            auth_middleware,
            rate_limit_middleware,
            platform_locale_middleware(),
            # /ui/ paths pass the bearer-token check untouched: a session cookie guards them.
            web_session_middleware,
        ],
        client_max_size=max(settings.max_upload_bytes, MIN_CLIENT_MAX_SIZE),
        # aiohttp closes a connection whose request head is not complete when its keep-alive
        # timer fires; the timer starts when the connection opens and after each answer, so
        # it bounds a stalled or trickled head too (run_app's and the test server's alike).
        # Its logger turns requests aiohttp cannot parse into warnings, not error tracebacks.
        handler_args={
            "keepalive_timeout": settings.header_timeout_seconds,
            "logger": server_logger,
        },
    )
    if settings.check_answers:
        app[ANSWER_MISMATCHES] = []
    app[SETTINGS] = settings
    app[OFFERINGS] = OfferingRegistry.load(settings.offerings_file)
    app[ECONOMY] = Economy.load(settings.economy_file)
    app[EVENTS] = Events()
    install_metrics(app)
    app.on_response_prepare.append(_nosniff)
    app.cleanup_ctx.extend([database_ctx, rate_limiter_ctx, pg_events_ctx, blobs_ctx])
    if settings.run_queue:
        setup_queue(app)
    for table in route_tables():
        app.router.add_routes(table)
    setup_web(app)
    return app


async def _nosniff(request: web.Request, response: web.StreamResponse) -> None:
    # Stored files are the users' bytes: a browser must take the declared type, never guess
    # one (an "image" that sniffs as HTML would run as the daemon's page). JSON loses nothing.
    response.headers["X-Content-Type-Options"] = "nosniff"


def route_tables() -> list[web.RouteTableDef]:
    """The `routes` table of every module in `daemon/routes/`, in name order."""
    tables = []
    for info in sorted(pkgutil.iter_modules(daemon.routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"daemon.routes.{info.name}")
        tables.append(module.routes)
    return tables


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The engine, migrated to the latest schema before the first request."""
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    await upgrade_to_head(engine)
    app[ENGINE] = engine
    app[SESSIONMAKER] = make_sessionmaker(engine)
    app[READ_SESSIONMAKER] = make_read_sessionmaker(engine)
    log.info("database_ready", url=engine.url.render_as_string(hide_password=True))
    yield
    await engine.dispose()


async def blobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """The blob store the settings name (DATA_DIR/blobs by default)."""
    app[BLOBS] = await open_blob_store(app[SETTINGS])
    yield
    await app[BLOBS].aclose()
