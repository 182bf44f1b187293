"""Which replica runs the queue: the holder of one PostgreSQL session advisory lock.

Every replica serves the RPC; the one holding the lock, on a connection of its own, dispatches
the queue and runs the scheduler. The lock belongs to that session, so when the holder dies its
connection closes, PostgreSQL releases the lock, and another replica, trying every second, wins
it within seconds. A holder that loses its connection steps down at once: it cannot know whether
the lock is still its own. With SQLite there is one daemon and no election (`daemon.queue.setup`).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# Any bigint all replicas agree on: the bytes of "lorabot" (advisory keys are per database).
LOCK_KEY = int.from_bytes(b"lorabot", "big")
RETRY_SECONDS = 1.0
# A held lock is proven alive this often; a check slower than the timeout ends the term.
CHECK_SECONDS = 1.0
CHECK_TIMEOUT_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 5.0


class Leadership:
    """Campaigns for the lock until closed; `on_won` when it is held, `on_lost` when not."""

    def __init__(
        self,
        dsn: str,
        *,
        on_won: Callable[[], Awaitable[None]],
        on_lost: Callable[[], Awaitable[None]],
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.dsn = dsn
        self._on_won, self._on_lost = on_won, on_lost
        self.retry_seconds = retry_seconds
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin campaigning in the background."""
        self._task = asyncio.create_task(self._run(), name="leadership")

    async def close(self) -> None:
        """Stop campaigning; step down if leading (closing the connection frees the lock)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_SECONDS)
                await self._campaign(connection)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("leadership connection failed", error=str(exc)[:300])
            except Exception:
                # Starting the queue failed (the database refused the orphans' requeue, say):
                # step down and campaign again rather than lead without a dispatcher.
                log.exception("leadership term failed")
            finally:
                await self._step_down()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.terminate()
            await asyncio.sleep(self.retry_seconds)

    async def _campaign(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        while not await connection.fetchval(
            "SELECT pg_try_advisory_lock($1)", LOCK_KEY, timeout=CHECK_TIMEOUT_SECONDS
        ):
            await asyncio.sleep(self.retry_seconds)
        log.info("leadership won", server_pid=connection.get_server_pid())
        self.leading = True
        await self._on_won()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                break
            await connection.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)
        raise ConnectionError("the leadership connection closed")

    async def _step_down(self) -> None:
        if not self.leading:
            return
        self.leading = False
        log.warning("leadership lost: the queue stops here")
        await self._on_lost()
