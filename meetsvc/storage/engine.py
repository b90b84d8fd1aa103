"""Opening the database: one async engine for SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction, create_async_engine

from meetsvc.storage import sqlite_driver
from meetsvc.storage.availability import CONNECT_FAILURES, DatabaseUnreachable

# The names the rest of the service uses for a database and an open transaction. Modules outside
# storage/ hold these and pass them to storage/queries/, and never import SQLAlchemy themselves.
Engine = AsyncEngine
Connection = AsyncConnection

# Seconds to wait for a new PostgreSQL connection; asyncpg's own default is a minute, which would
# hold every request that long when the server does not answer at all.
CONNECT_TIMEOUT_SECONDS = 5


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine whose transactions behave alike on both databases.

    SQLite (through :mod:`meetsvc.storage.sqlite_driver`, one trip to the connection's thread
    per statement): WAL so readers do not block the writer, a busy timeout so a second process
    waits instead of failing, foreign keys on, and ``BEGIN IMMEDIATE`` for a transaction begun to
    write (``engine.begin()``) so one that reads and then writes takes the write lock up front (a
    deferred one can fail with "database is locked" when two of them try to upgrade at once, and
    no timeout helps). Work that only reads (``engine.connect()``, never committed) begins a
    plain deferred transaction instead: it takes no write lock, so readers do not queue behind
    writers, which is what WAL is for.

    PostgreSQL: a pooled connection the server closed (a restart, a failover, a terminated
    backend) is replaced when it is taken from the pool instead of failing the request (see
    :func:`_replace_closed_connections`), and connecting gives up after
    ``CONNECT_TIMEOUT_SECONDS``. On both, a failure to connect is raised as
    :class:`DatabaseUnreachable` (see :mod:`meetsvc.storage.availability`).

    On both, ``hide_parameters``: an error's text (and ``echo``'s lines) never show the values a
    statement was given, so a failed insert logs no participant's name, e-mail or mobile.
    """
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if make_url(url).get_backend_name() == "postgresql":
        kwargs.update(pool_size=10, max_overflow=10, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    elif make_url(url).get_driver_name() == "aiosqlite":
        # SQLAlchemy's aiosqlite adapter opens its connections through this instead of
        # aiosqlite.connect: one trip to the connection's thread per statement.
        kwargs.update(connect_args={"async_creator_fn": sqlite_driver.connect})
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
        engine = _SQLiteEngine(engine.sync_engine)
    else:
        _replace_closed_connections(engine)
    _name_connect_failures(engine)
    return engine


def _name_connect_failures(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseUnreachable` when a new connection cannot be made.

    Drivers raise their own errors while connecting, unwrapped by SQLAlchemy (asyncpg: a bare
    ``ConnectionRefusedError``), so without this a caller could not tell a database that is away
    from any other ``OSError``.
    """
    failures: tuple[type[BaseException], ...] = (*CONNECT_FAILURES, engine.dialect.loaded_dbapi.Error)

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except failures as exc:
            raise DatabaseUnreachable(f"cannot connect to the database: {exc.__class__.__name__}") from exc


def _replace_closed_connections(engine: AsyncEngine) -> None:
    """Hand out no pooled PostgreSQL connection the server has closed.

    When the server ends a connection (a restart or a failover closes every one; an
    administrator may terminate one), it says so and closes the socket, and asyncpg marks the
    connection closed as soon as the event loop reads that. A connection found closed when it is
    taken from the pool is refused here, and SQLAlchemy then drops every connection pooled before
    it (after a restart they are all gone) and hands out a new one: the request goes on.

    SQLAlchemy's own ``pool_pre_ping`` asks the server instead, and on asyncpg that is three
    round trips (``BEGIN``, an empty query, ``ROLLBACK``) before every transaction: more than an
    admission's own statements cost. It would also catch a connection closed in the instant
    between the pool and the first statement, which this does not; that one request fails with
    the database error it met, and the pool is renewed for the next (SQLAlchemy invalidates it
    on a disconnect). A server that vanishes without closing its sockets is caught by neither.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise exc.InvalidatePoolError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.info.pop(_WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


#: Marks, on the connection, that the transaction about to begin was begun to write.
_WRITES = "meetsvc.begun_to_write"


class _SQLiteConnection(AsyncConnection):
    """A connection whose explicit :meth:`begin` (``engine.begin()``) takes the write lock.

    A transaction SQLAlchemy begins by itself on the first statement of ``engine.connect()``
    (no explicit ``begin``, never committed here) only reads, and begins deferred.
    """

    def begin(self) -> AsyncTransaction:
        if self.sync_connection is not None:
            self.sync_connection.info[_WRITES] = True
        return super().begin()


class _SQLiteEngine(AsyncEngine):
    _connection_cls = _SQLiteConnection
