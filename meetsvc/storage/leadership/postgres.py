"""PostgreSQL: the lead is a session-level advisory lock on a connection of its own.

The database releases the lock the moment that session ends (the process died, was killed,
lost its network), and a standby process's next try takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("meetsvc.schedule")

#: The advisory lock's key: a fixed 64-bit number derived from a name, the same in every process.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"meetsvc schedule").digest()[:8], "big", signed=True)


class AdvisoryLockLeadership:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection outside the pool."""

    def __init__(self, url: URL, *, timeout_seconds: float = 5.0) -> None:
        # A pool of none: closing the connection must really end the session (and the lock),
        # never hand it, lock and all, to the next borrower.
        self._engine: AsyncEngine = create_async_engine(
            url, poolclass=NullPool, connect_args={"timeout": timeout_seconds, "command_timeout": timeout_seconds}
        )
        self._connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        try:
            if self._connection is None:
                self._connection = await self._engine.connect()
                await self._connection.execution_options(isolation_level="AUTOCOMMIT")
            held = bool(
                (await self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})).scalar()
            )
        except Exception as exc:  # the database is away: try again later
            log.warning("could not reach the database for the schedule lock: %s", type(exc).__name__)
            await self._drop()
            return False
        if not held:
            await self._drop()
        return held

    async def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            await self._connection.execute(text("SELECT 1"))
            return True
        except Exception:
            await self._drop()
            return False

    async def release(self) -> None:
        if self._connection is not None:
            # Any failure means the session is gone, and the lock with it.
            with contextlib.suppress(Exception):
                await self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        await self._drop()
        await self._engine.dispose()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), timeout=5)
            except Exception:
                await connection.invalidate()
