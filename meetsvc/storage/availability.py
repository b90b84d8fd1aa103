"""Telling "the database is away" apart from every other error.

A database that restarts, fails over or drops off the network is not the caller's mistake and
not a bug: the transports answer it with 503 and ``Retry-After`` (HTTP) or an ``unavailable``
error answer (socket.io), and the engine recovers by itself when the database is back (pooled
connections the server closed are replaced as they are taken from the pool).

Tree::

    ConnectionError
    └── DatabaseUnreachable       connecting failed: refused, timed out, or turned away while
                                  the server starts, stops or is full

SQLAlchemy reports a connection lost in the middle of a statement as a ``DBAPIError`` with
``connection_invalidated`` set (or as an ``OperationalError``/``InterfaceError``), and a pool
with no free connection in time as its ``TimeoutError``; :func:`database_unavailable` knows
them all. Connect failures arrive from the driver unwrapped (asyncpg raises a bare
``ConnectionRefusedError``), so the engine names them :class:`DatabaseUnreachable` as they
happen (see :func:`meetsvc.storage.engine.create_engine`).
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa

__all__ = ["CONNECT_FAILURES", "DatabaseUnreachable", "database_unavailable", "unavailable_dependency"]


class DatabaseUnreachable(ConnectionError):
    """A new connection to the database could not be made."""


# What a driver raises while connecting when the server is down, starting, stopping or full.
CONNECT_FAILURES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, and TimeoutError
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57P01..57P03: shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # 53300: too many connections
    asyncpg.InterfaceError,  # the connection closed half-way through the handshake
)


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be reached now (as opposed to a bug or a
    rule the database enforced, such as a unique constraint)."""
    if isinstance(error, DatabaseUnreachable):
        return True
    if isinstance(error, sa.DBAPIError):
        return error.connection_invalidated or isinstance(error, (sa.OperationalError, sa.InterfaceError))
    # The pool had no connection to give in time; DisconnectionError is the pool's own "gone".
    return isinstance(error, (sa.TimeoutError, sa.DisconnectionError))


def unavailable_dependency(error: BaseException) -> str | None:
    """``"database"`` when the database is away, ``"network"`` when another connection failed or
    timed out, ``None`` for anything else (which is a bug, and answered as one)."""
    if database_unavailable(error):
        return "database"
    if isinstance(error, (ConnectionError, TimeoutError)):
        return "network"
    return None
