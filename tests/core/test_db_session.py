"""SQLite sessions: reads skip the write lock, writes queue for it, reads cannot write."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.models import Account
from core.db.session import (
    ReadOnlySessionError,
    create_engine,
    is_read_only,
    make_read_sessionmaker,
    make_sessionmaker,
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'session.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    await engine.dispose()


async def test_a_read_answers_while_a_writer_holds_the_write_lock(engine: AsyncEngine) -> None:
    writer, reader = make_sessionmaker(engine), make_read_sessionmaker(engine)
    async with writer.begin() as write:
        await write.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock from BEGIN
        async with reader.begin() as read:
            # With the write lock taken by reads too, this would wait for the busy timeout.
            seen = await asyncio.wait_for(read.scalar(text("SELECT count(*) FROM t")), 2)
        assert seen == 0  # the read's snapshot predates the uncommitted insert
    async with reader.begin() as read:
        assert await read.scalar(text("SELECT count(*) FROM t")) == 1


async def test_a_second_writer_waits_for_the_first(engine: AsyncEngine) -> None:
    writer = make_sessionmaker(engine)
    order: list[str] = []

    async def second() -> None:
        async with writer.begin() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second")

    async with writer.begin() as first:
        await first.execute(text("INSERT INTO t VALUES (1)"))
        task = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        assert not task.done()  # BEGIN IMMEDIATE of the second waits for our commit
        order.append("first")
    await asyncio.wait_for(task, 5)
    assert order == ["first", "second"]


async def test_a_read_session_refuses_to_write(engine: AsyncEngine, tmp_path: Path) -> None:
    reader = make_read_sessionmaker(engine)
    async with reader() as session:
        assert is_read_only(session)
        session.add(Account(balance=0))
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    async with make_sessionmaker(engine)() as session:
        assert not is_read_only(session)


async def test_writers_of_one_process_take_turns_in_arrival_order(engine: AsyncEngine) -> None:
    writer = make_sessionmaker(engine)
    order: list[int] = []

    async def write(n: int) -> None:
        async with writer.begin() as session:
            order.append(n)
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # hold the lock across an await

    await asyncio.gather(*(write(n) for n in range(8)))
    assert order == list(range(8))
    async with make_read_sessionmaker(engine).begin() as read:
        assert await read.scalar(text("SELECT count(*) FROM t")) == 8
