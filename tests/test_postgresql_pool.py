"""PostgreSQL connections from the pool: a transaction costs the server its own statements, and a
connection the server closed is replaced instead of failing the request that takes it.

The server closes its connections when it restarts, fails over, or an administrator terminates a
backend; here a backend is terminated for real (``pg_terminate_backend``) while its connection
sits in the service's pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url

from meetsvc.storage.engine import Engine, create_engine
from tests.support.timing import WAIT_SECONDS


@pytest_asyncio.fixture
async def engine(postgres_template: Any) -> AsyncIterator[Engine]:
    url = await postgres_template.clone()
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    await postgres_template.drop(url.rsplit("/", 1)[1])


async def _driver(engine: Engine) -> Any:
    """The asyncpg connection the pool holds (the pool has one: each test uses one at a time)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        return raw.driver_connection


async def _backend(engine: Engine) -> int:
    async with engine.begin() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_transaction_sends_no_ping_before_its_own_statements(engine: Engine) -> None:
    driver = await _driver(engine)
    sent: list[str] = []
    # asyncpg tells its query loggers of every query but those run as prepared statements (as
    # SQLAlchemy runs a transaction's own): here, what the transaction costs around them.
    driver.add_query_logger(lambda record: sent.append(record.query))

    async with engine.begin() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1

    # No ping before it: on asyncpg that is three round trips of its own (BEGIN, an empty query,
    # ROLLBACK) before every transaction, more than a short transaction's statements cost.
    assert [query.rstrip(";").upper() for query in sent] == ["BEGIN", "COMMIT"], sent


async def test_a_connection_the_server_terminated_is_replaced_when_it_is_taken_from_the_pool(
    engine: Engine,
) -> None:
    old = await _backend(engine)
    driver = await _driver(engine)
    url = make_url(engine.url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        # Returns once the backend has ended (PostgreSQL 14 and later wait for it when given a timeout).
        assert await admin.fetchval("SELECT pg_terminate_backend($1, $2)", old, int(WAIT_SECONDS * 1000))
    finally:
        await admin.close()

    # The server closed the socket; the event loop reads that as it runs (no wait on a clock).
    async with asyncio.timeout(WAIT_SECONDS):
        while not driver.is_closed():
            await asyncio.sleep(0)

    new = await _backend(engine)  # the request that takes the closed connection goes on
    assert new != old
    assert await _backend(engine) == new  # and the new connection is pooled in its place
