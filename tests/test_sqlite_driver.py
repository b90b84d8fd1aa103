"""SQLite through the service's engine: each statement is one trip to the connection's thread,
a transaction's ``BEGIN`` goes with its first statement and still takes the write lock there, and
the statements answer as a database driver must (rows, counts, errors, rollback).

The engine is the service's own (:func:`meetsvc.storage.engine.create_engine`) on a real SQLite
file; trips are counted where the connection hands work to its thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import exc as sa, text

from meetsvc.storage.engine import Engine, create_engine
from meetsvc.storage.sqlite_driver import OneTripConnection


@pytest_asyncio.fixture
async def engine(database: Path) -> AsyncIterator[Engine]:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "driver.db"


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of each function the engine's connections run in their threads."""
    made: list[str] = []
    handed = OneTripConnection._execute

    async def counted(self: OneTripConnection, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(function, "__name__", repr(function)))
        return await handed(self, function, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    yield made


async def test_a_statement_that_answers_rows_is_one_trip(engine: Engine, trips: list[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')"))
        trips.clear()
        rows = (await connection.execute(text("SELECT id, body FROM notes ORDER BY id"))).all()
        assert [row.body for row in rows] == ["a", "b", "c"]
        assert trips == ["_run"]
        trips.clear()
        returned = (
            await connection.execute(text("UPDATE notes SET body = body || '!' WHERE id > 1 RETURNING body"))
        ).all()
        assert sorted(row.body for row in returned) == ["b!", "c!"]
        assert trips == ["_run"]


async def test_a_transaction_costs_a_trip_per_statement_and_one_to_commit(engine: Engine, trips: list[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('a')"))
        await connection.execute(text("SELECT body FROM notes"))
    assert trips == ["_run", "_run", "commit"]
    trips.clear()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT body FROM notes"))).scalar_one() == "a"
    assert trips == ["_run", "rollback"]
    trips.clear()
    async with engine.begin() as connection:  # a transaction that sends no statement
        assert connection.in_transaction()
    assert trips == []


async def test_a_transaction_begun_to_write_holds_the_write_lock_from_its_first_statement(
    engine: Engine, database: Path
) -> None:
    """Its ``BEGIN IMMEDIATE`` went with the first statement, a read: another writer is refused
    (it waits no time here) until the transaction ends, and then it may write."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT count(*) FROM notes"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (body) VALUES ('other')")
        other.execute("COMMIT")
    finally:
        other.close()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT body FROM notes"))).scalars().all() == ["other"]


async def test_counts_and_parameter_sets_answer_as_sqlite_counts_them(engine: Engine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body)"), [{"body": "x"}, {"body": "y"}, {"body": "z"}]
        )
        assert inserted.rowcount == 3
        changed = await connection.execute(text("UPDATE notes SET body = body || body WHERE body != 'x'"))
        assert changed.rowcount == 2
        one = await connection.execute(text("INSERT INTO notes (body) VALUES ('w')"))
        assert one.lastrowid == 4
    async with engine.connect() as connection:
        bodies = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).scalars().all()
    assert bodies == ["x", "yy", "zz", "w"]


async def test_a_refused_statement_rolls_its_transaction_back_and_the_connection_goes_on(engine: Engine) -> None:
    with pytest.raises(sa.IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('once')"))
            await connection.execute(text("INSERT INTO notes (body) VALUES ('once')"))
    with pytest.raises(sa.OperationalError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('kept?')"))
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('after')"))
    async with engine.connect() as connection:
        bodies = (await connection.execute(text("SELECT body FROM notes"))).scalars().all()
    assert bodies == ["after"]
