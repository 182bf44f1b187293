"""Engines and sessions: SQLite (WAL, busy timeout, immediate write locks) or PostgreSQL.

Two kinds of session share one engine. Write sessions (`make_sessionmaker`) begin every SQLite
transaction `IMMEDIATE`: the write lock is taken up front, so concurrent writers queue on the
busy timeout instead of failing. Read sessions (`make_read_sessionmaker`) begin `DEFERRED`: in
WAL mode they read a snapshot while a writer holds the lock, and never wait for it. A read
session must not write (it would meet SQLITE_BUSY that no timeout resolves); its flushes are
refused. On PostgreSQL both kinds are ordinary transactions.
"""

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


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for transactions that may write."""
    return async_sessionmaker(engine, expire_on_commit=False)


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
