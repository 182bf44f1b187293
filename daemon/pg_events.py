"""Wake-ups between replicas on PostgreSQL: LISTEN/NOTIFY on one connection per replica.

Each replica relays its `daemon.events.Events` wake-ups as NOTIFYs and fires the ones it hears
from its peers: a submit on any replica wakes the leader's dispatcher (`lorabot_jobs`), a new
notification row wakes the long polls of every replica (`lorabot_notifications`, the platform
as payload), a job's progress wakes every replica's dashboard monitors (`lorabot_job_updates`).
The callers fire after their commit, so a woken peer reads the new rows. A NOTIFY is only a
hint: the timer polls stay, so a lost connection (reconnected every second) costs latency,
never state.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aiohttp import web
from sqlalchemy.engine import make_url

from core.enums import Platform
from daemon.events import Events, Wake
from daemon.keys import ENGINE, EVENTS, SETTINGS

log = structlog.get_logger(__name__)

CHANNELS = {
    Wake.jobs: "lorabot_jobs",
    Wake.notifications: "lorabot_notifications",
    Wake.job_updates: "lorabot_job_updates",
}
RETRY_SECONDS = 1.0
# An idle listener proves its connection this often (a half-open one never says it closed).
KEEPALIVE_SECONDS = 5.0
QUERY_TIMEOUT_SECONDS = 3.0
# One round trip for every pending wake-up.
SEND = "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)"


def asyncpg_dsn(database_url: str) -> str:
    """The plain `postgresql://` DSN asyncpg takes, from the daemon's SQLAlchemy URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgEvents:
    """The replica's listener connection: sends relayed wake-ups, fires the peers' ones."""

    def __init__(self, dsn: str, events: Events) -> None:
        self.dsn = dsn
        self.events = events
        # Distinct wake-ups not sent yet (an ordered set): a burst of progress is one NOTIFY.
        self._pending: dict[tuple[Wake, str], None] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def relay(self, wake: Wake, payload: str) -> None:
        """Queue a wake-up for the peers (an `Events` relay)."""
        self._pending[(wake, payload)] = None
        self._ready.set()

    def start(self) -> None:
        """Connect and listen in the background (reconnecting while the daemon runs)."""
        self._task = asyncio.create_task(self._run(), name="pg-events")

    async def close(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=QUERY_TIMEOUT_SECONDS)
                await self._serve(connection)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("replica events connection failed", error=str(exc)[:300])
            finally:
                self.connected.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.terminate()
            await asyncio.sleep(RETRY_SECONDS)

    async def _serve(self, connection: asyncpg.Connection) -> None:
        own = connection.get_server_pid()
        lost = asyncio.Event()

        def closed(_connection: object) -> None:
            lost.set()
            self._ready.set()

        def heard(_connection: object, pid: int, channel: str, payload: str) -> None:
            if pid != own:  # our own NOTIFYs come back too: those fired here already
                self.events.heard(wakes[channel], payload)

        wakes = {channel: wake for wake, channel in CHANNELS.items()}
        connection.add_termination_listener(closed)
        for channel in CHANNELS.values():
            await connection.add_listener(channel, heard)
        self.connected.set()
        self._catch_up()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), KEEPALIVE_SECONDS)
            self._ready.clear()
            batch, self._pending = list(self._pending), {}
            if lost.is_set():
                break
            if batch:
                channels = [CHANNELS[wake] for wake, _ in batch]
                payloads = [payload for _, payload in batch]
                await connection.execute(SEND, channels, payloads, timeout=QUERY_TIMEOUT_SECONDS)
            else:
                await connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_SECONDS)
        raise ConnectionError("the replica events connection closed")

    def _catch_up(self) -> None:
        # Peers' wake-ups sent while this replica was not listening are lost: waiters re-read.
        self.events.heard(Wake.jobs)
        for platform in Platform:
            self.events.heard(Wake.notifications, str(platform))


async def pg_events_ctx(app: web.Application) -> AsyncIterator[None]:
    """On PostgreSQL, relay the app's wake-ups to the other replicas and hear theirs."""
    if app[ENGINE].dialect.name != "postgresql":
        yield
        return
    relay = PgEvents(asyncpg_dsn(app[SETTINGS].resolved_database_url), app[EVENTS])
    app[EVENTS].relay_to(relay.relay)
    relay.start()
    yield
    app[EVENTS].relay_to(None)
    await relay.close()
