"""SQLAlchemy's aiosqlite adapter, with statements that cannot wait run on the event loop.

aiosqlite runs each call on the connection's own thread and hands the result back to the event
loop. SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch,
close), and on a busy 2-core machine each hop costs a context switch and a GIL hand-over:
measured, a `GET /v1/me` made ~34 hops and spent most of its ~5 ms of CPU on them, and a job
submission made 56. Here a statement is run whole (cursor, execute, fetch all rows, close):

- on the event loop itself when it cannot wait for a lock: any statement of a transaction that
  already holds the write lock (begun `IMMEDIATE`), and reads (`SELECT`, `BEGIN DEFERRED`),
  which in WAL mode never wait for writers. These are in-memory B-tree operations of well under
  a millisecond for this schema's indexed queries, cheaper than the hop they replace;
- on the connection's thread, in one hop, when it may wait: `BEGIN IMMEDIATE` (for another
  process's write lock, up to the busy timeout) and writes outside such a transaction. The
  end of a transaction that wrote (COMMIT may checkpoint the WAL, with an fsync) stays on the
  thread too; a read's end runs on the loop, and ending no transaction costs nothing.

A connection is used by one task at a time (SQLAlchemy awaits each call), so the loop and the
thread never touch it at once; it is opened with `check_same_thread=False` for that reason.
Statements, transactions and errors are exactly those of the stock adapter.
"""

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_Outcome = tuple[Any, int, int | None, list[Any]]
# Statements that never wait for a lock in WAL mode (compared on the upper-cased start).
_READS = ("SELECT", "BEGIN DEFERRED")
_TAKES_WRITE_LOCK = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


def _run(
    connection: aiosqlite.Connection, operation: str, parameters: Any, *, many: bool
) -> _Outcome:
    """One statement, start to finish, on the connection's thread."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each cost a single hop to the sqlite thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # no aiosqlite cursor is kept open
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, -1, None, [])

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> int:
        return self._outcome[2]  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # every row is fetched at once

    async def _async_soft_close(self) -> None:
        pass  # nothing stays open between statements

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        adapted: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        head = operation.lstrip()[:16].upper()
        takes_lock = head.startswith(_TAKES_WRITE_LOCK)
        if head.startswith("BEGIN"):
            adapted.holds_write_lock = False
        async with adapted._execute_mutex:
            if not takes_lock and (adapted.holds_write_lock or head.startswith(_READS)):
                self._outcome = _run(self._connection, operation, parameters, many=many)
            else:
                self._outcome = await self._connection._execute(
                    _run, self._connection, operation, parameters, many=many
                )
        if takes_lock or not (head.startswith(_READS) or adapted.holds_write_lock):
            adapted.holds_write_lock = True  # a write that succeeded holds the lock now
        self._rows = collections.deque(self._outcome[3])


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Remembers whether its transaction took the write lock (so nothing of it can wait)."""

    __slots__ = ("holds_write_lock",)
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)
        self.holds_write_lock = False

    def commit(self) -> None:
        self._end(commit=True)

    def rollback(self) -> None:
        self._end(commit=False)

    def _end(self, *, commit: bool) -> None:
        """End the transaction: nothing to do without one (the pool's rollback on return after
        a commit), on the loop for a read (it cannot wait), on the thread after writes."""
        holds_lock, self.holds_write_lock = self.holds_write_lock, False
        connection = self._connection._connection  # None once closed
        if connection is not None and not connection.in_transaction:
            return
        if holds_lock or connection is None:
            super().commit() if commit else super().rollback()
            return
        try:
            connection.commit() if commit else connection.rollback()
        except Exception as error:
            self._handle_exception(error)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI object to give `create_async_engine(module=...)` for sqlite+aiosqlite URLs."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        # The loop runs some statements itself, between (never during) the thread's calls.
        stock = super().connect(*arg, **{**kw, "check_same_thread": False})
        return OneHopConnection(self, stock._connection)
