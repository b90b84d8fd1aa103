"""SQLite through aiosqlite, one trip to the connection's thread per statement.

aiosqlite runs each call on a sqlite3 connection in a thread of its own and hands the answer
back to the event loop. SQLAlchemy's adapter makes four such calls for one statement that
returns rows: open a cursor, execute, fetch the rows, close the cursor. Each is a hand-over
between threads and a wake-up of the event loop, and together they cost an admission more
than SQLite took to run its statements (an admission runs six). The connection here answers
SQLAlchemy's adapter with a cursor that does all four in one call in the connection's thread
and keeps what it learnt (the rows, ``description``, ``rowcount``, ``lastrowid``) for the
adapter to read. Everything else (the thread, commit, rollback, closing) is aiosqlite's own.

The rows of one statement are all fetched at once, as the adapter did already (it buffers a
statement's rows unless a server-side cursor is asked for, and the service asks for none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite


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

    def _run(self, many: bool, operation: str, parameters: Any) -> None:
        """In the connection's thread: the statement, its rows, and the cursor closed."""
        cursor = self._connection.sqlite_connection.cursor()
        try:
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
        await self._connection.in_thread(self._run, False, operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Sequence[Any]) -> OneTripCursor:
        await self._connection.in_thread(self._run, True, operation, parameters)
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
