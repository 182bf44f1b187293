"""Engines and sessions: SQLite (WAL, busy timeout, immediate write locks) or PostgreSQL.

Two kinds of session share one engine. Write sessions (`make_sessionmaker`) begin every SQLite
transaction `IMMEDIATE`: the write lock is taken up front, so concurrent writers queue on the
busy timeout instead of failing. Within one process they first queue on an asyncio lock (see
`WriteTurns`), since SQLite's own wait is a sleep of up to 100 ms between tries. Read sessions
(`make_read_sessionmaker`) begin `DEFERRED`: in WAL mode they read a snapshot while a writer
holds the lock, and never wait for it. A read session must not write (it would meet
SQLITE_BUSY that no timeout resolves); its flushes are refused. On PostgreSQL both kinds are
ordinary transactions.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The execution option that marks a read session's connections.
READ_ONLY_OPTION = "lorabot_read_only"


class ReadOnlySessionError(RuntimeError):
    """A read session was asked to write: the caller should have used a write session."""


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; on SQLite, make concurrent writers queue instead of failing."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, issue BEGIN (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        # A deferred transaction that later writes can fail with SQLITE_BUSY at once (no wait)
        # when another writer got there first; taking the write lock up front makes it wait.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriteTurns:
    """One SQLite write transaction at a time in this process, in arrival order.

    SQLite's busy handler retries a locked BEGIN after sleeps growing to 100 ms, so waiting
    writers leave the lock idle between them and the last ones wait seconds. Queued on an
    asyncio lock, each writer begins the moment the one before it has committed. Other
    processes still meet the busy timeout, which keeps the writers of all processes correct.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        # As long as SQLite itself would wait, then fail the same way ("database is locked").
        async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
            await lock.acquire()
        try:
            yield
        finally:
            lock.release()


# One queue per engine, shared by every write sessionmaker made on it.
_TURNS: weakref.WeakKeyDictionary[Engine, WriteTurns] = weakref.WeakKeyDictionary()


class WriteSessions(async_sessionmaker[AsyncSession]):
    """Write sessions; on SQLite, `begin()` waits for this process's turn before BEGIN."""

    turns: WriteTurns | None = None

    def begin(self) -> AbstractAsyncContextManager[AsyncSession]:  # type: ignore[override]
        if self.turns is None:
            return super().begin()
        return self._begin_in_turn(self.turns)

    @asynccontextmanager
    async def _begin_in_turn(self, turns: WriteTurns) -> AsyncIterator[AsyncSession]:
        async with turns.taken(), super().begin() as session:
            yield session


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for transactions that may write."""
    sessions = WriteSessions(engine, expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        sessions.turns = _TURNS.setdefault(engine.sync_engine, WriteTurns())
    return sessions


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for transactions that only read (no write lock on SQLite; flushes refused)."""
    reader = engine.execution_options(**{READ_ONLY_OPTION: True})
    return async_sessionmaker(reader, expire_on_commit=False, sync_session_class=ReadSession)


def is_read_only(session: AsyncSession) -> bool:
    """Whether the session is a read session."""
    return bool(session.get_bind().get_execution_options().get(READ_ONLY_OPTION))


class ReadSession(Session):
    """The ORM session behind a read session: it refuses to flush changes."""


@event.listens_for(ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("a read session cannot write; use a write session")
