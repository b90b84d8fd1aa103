"""SQLite through aiosqlite, one trip to the connection's thread per statement.

aiosqlite runs each call on a sqlite3 connection in a thread of its own and hands the answer
back to the event loop. SQLAlchemy's adapter makes four such calls for one statement that
returns rows: open a cursor, execute, fetch the rows, close the cursor. Each is a hand-over
between threads and a wake-up of the event loop, and together they cost an admission more
than SQLite took to run its statements (an admission runs six). The connection here answers
SQLAlchemy's adapter with a cursor that does all four in one call in the connection's thread
and keeps what it learnt (the rows, ``description``, ``rowcount``, ``lastrowid``) for the
adapter to read. Everything else (the thread, commit, rollback, closing) is aiosqlite's own.

A ``BEGIN`` (the engine sends ``BEGIN IMMEDIATE`` for a transaction begun to write, see
:mod:`meetsvc.storage.engine`) travels with the transaction's first statement, in that
statement's trip: nothing reaches the database between the two, so the write lock is taken at
the same point of the transaction, and one that fails to take it fails that first statement. A
transaction that sends no statement at all leaves nothing to commit or roll back, and makes no
trip; nor does a commit or a rollback when SQLite has no transaction open (SQLAlchemy's pool
rolls back every connection it takes back, also one whose transaction was just committed).

The rows of one statement are all fetched at once, as the adapter did already (it buffers a
statement's rows unless a server-side cursor is asked for, and the service asks for none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

#: Statements that only open a transaction; they go with the transaction's first statement.
_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})


class OneTripCursor:
    """What SQLAlchemy's aiosqlite adapter asks of a cursor, each statement in one trip."""

    __slots__ = ("_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self  # the sqlite3 cursor is opened in the statement's own trip

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, begin: str | None, many: bool, operation: str, parameters: Any) -> None:
        """In the connection's thread: the transaction begun where ``begin`` says so, the
        statement, its rows, and the cursor closed."""
        cursor = self._connection.sqlite_connection.cursor()
        try:
            if begin is not None:
                cursor.execute(begin)
            if many:
                cursor.executemany(operation, parameters)
            else:
                cursor.execute(operation, parameters)
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
        finally:
            cursor.close()

    async def execute(self, operation: str, parameters: Any = ()) -> OneTripCursor:
        if not parameters and operation in _BEGINS:
            self._connection.begin_with_next(operation)
            self.description, self._rows, self.rowcount = None, [], -1
            return self
        begin = self._connection.pending_begin()
        await self._connection.in_thread(self._run, begin, False, operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Sequence[Any]) -> OneTripCursor:
        begin = self._connection.pending_begin()
        await self._connection.in_thread(self._run, begin, True, operation, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def nextset(self) -> None:
        return None

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip to its thread per statement."""

    _begin: str | None = None

    def begin_with_next(self, begin: str) -> None:
        """Send ``begin`` with the next statement (or not at all, if none comes before the end)."""
        self._begin = begin

    def pending_begin(self) -> str | None:
        """The ``BEGIN`` still to send, handed over once."""
        begin, self._begin = self._begin, None
        return begin

    async def commit(self) -> None:
        if self.pending_begin() is None and self._open():
            await super().commit()

    async def rollback(self) -> None:
        if self.pending_begin() is None and self._open():
            await super().rollback()

    def _open(self) -> bool:
        # SQLite's own flag, read while the connection's thread has nothing of ours to run (the
        # adapter awaits each call before the next).
        return self._conn.in_transaction

    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # SQLAlchemy's adapter awaits __aenter__ either way
        return OneTripCursor(self)

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        """The sqlite3 connection itself: for the connection's own thread only."""
        return self._conn

    async def in_thread(self, function: Any, *args: Any) -> Any:
        """``function(*args)`` in the connection's thread, as aiosqlite runs its own calls."""
        return await self._execute(function, *args)


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """As :func:`aiosqlite.connect`, the connection one that makes one trip per statement; its
    thread is a daemon, as SQLAlchemy makes aiosqlite's, so a process never waits on it to exit."""
    connection = OneTripConnection(lambda: sqlite3.connect(database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True
    return connection
