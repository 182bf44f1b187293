"""The one-hop aiosqlite cursor behaves as a DBAPI cursor: rows, counts, ids, errors."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.session import READ_ONLY_OPTION, create_engine
from core.db.sqlite_driver import OneHopCursor


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, x INT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (x) VALUES (10)"))
        assert inserted.lastrowid == 1
        many = await connection.execute(
            text("INSERT INTO t (x) VALUES (:x)"), [{"x": 20}, {"x": 30}, {"x": 40}]
        )
        assert many.rowcount == 3
        updated = await connection.execute(text("UPDATE t SET x = x + 1 WHERE x > 15"))
        assert updated.rowcount == 3
        rows = (await connection.execute(text("SELECT id, x FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, 10), (2, 21), (3, 31), (4, 41)]
        result = await connection.execute(text("SELECT x FROM t WHERE x > 20 ORDER BY x"))
        assert list(result.keys()) == ["x"]
        assert result.fetchone() == (21,) and result.fetchmany(5) == [(31,), (41,)]


async def test_statements_use_the_one_hop_cursor(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)  # type: ignore[union-attr]


async def test_errors_keep_their_dbapi_types(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.begin() as connection:
            await connection.execute(text("SELECT * FROM missing"))
    async with engine.connect() as connection:  # the failed transactions changed nothing
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 1


async def test_a_statement_that_may_wait_for_the_lock_leaves_the_loop_free(
    engine: AsyncEngine,
) -> None:
    # Reads and the statements of a lock-holding transaction run on the event loop; a write
    # in a transaction without the lock may wait for it, so it must wait on the thread.
    async with engine.begin() as holder:
        await holder.execute(text("INSERT INTO t (x) VALUES (1)"))  # holds the write lock
        deferred = engine.execution_options(**{READ_ONLY_OPTION: True})
        async with deferred.connect() as other:
            await other.exec_driver_sql("SELECT 1")  # BEGIN DEFERRED: no lock yet
            waiting = asyncio.create_task(other.exec_driver_sql("INSERT INTO t (x) VALUES (2)"))
            started = time.monotonic()
            await asyncio.sleep(0.2)
            assert time.monotonic() - started < 1.0  # the loop kept running meanwhile
            assert not waiting.done()
            await holder.commit()
            await asyncio.wait_for(waiting, 10)
            await other.exec_driver_sql("COMMIT")


async def test_a_read_transaction_costs_no_thread_hop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiosqlite

    hops: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", "call"))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    reader = engine.execution_options(**{READ_ONLY_OPTION: True})
    async with reader.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 0
        await connection.commit()
    assert hops == []  # BEGIN DEFERRED, the SELECT, COMMIT and the pool's reset: all on the loop
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (x) VALUES (5)"))
    assert hops == ["_run", "commit"]  # BEGIN IMMEDIATE may wait; so may a writer's COMMIT
