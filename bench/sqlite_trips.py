"""What a SQLite transaction costs through the service's engine, against SQLAlchemy's stock
aiosqlite adapter and against a floor of one trip to a thread.

The subject is :func:`meetsvc.storage.engine.create_engine` (its connections from
:mod:`meetsvc.storage.sqlite_driver`: one trip to the connection's thread per statement, the
``BEGIN`` in the first statement's trip). The reference is the same engine configuration on
aiosqlite's own connection, whose adapter makes up to four trips per statement and one each for
``BEGIN``, commit and the pool's rollback. The floor runs the same statements on a plain sqlite3
connection in one ``asyncio.to_thread`` call per transaction: the least an event loop that keeps
SQLite off its own thread can do.

Each sample is one transaction of ``--statements`` statements (a read of a row, then updates of
it), the three kinds interleaved sample by sample in one file in WAL mode, after a warm-up. It
prints medians and tails per kind, and last a JSON line with ``p50_ms``/``p99_ms`` and CPU per
transaction (``cpu_ms``, all threads of the process) of each.

    .venv/bin/python bench/sqlite_trips.py [--samples 3000] [--statements 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from meetsvc.storage.engine import Engine, create_engine

ROWS = 100
READ = "SELECT id, n FROM counters WHERE id = :id"
WRITE = "UPDATE counters SET n = n + 1 WHERE id = :id"


def stock_engine(url: str) -> Engine:
    """The service's engine settings on aiosqlite's own connection: the same events (pragmas,
    ``BEGIN IMMEDIATE``), only the connection differs."""
    from meetsvc.storage import engine as engines

    stock = create_async_engine(url, hide_parameters=True)
    engines._configure_sqlite(stock)
    return engines._SQLiteEngine(stock.sync_engine)


def engine_transaction(engine: Engine, statements: int) -> Callable[[int], Awaitable[None]]:
    async def transaction(row: int) -> None:
        async with engine.begin() as connection:
            (await connection.execute(text(READ), {"id": row})).one()
            for _ in range(statements - 1):
                await connection.execute(text(WRITE), {"id": row})

    return transaction


def floor_transaction(path: Path, statements: int) -> Callable[[int], Awaitable[None]]:
    database = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    database.execute("PRAGMA busy_timeout=10000")
    database.execute("PRAGMA synchronous=NORMAL")

    def run(row: int) -> None:
        database.execute("BEGIN IMMEDIATE")
        database.execute("SELECT id, n FROM counters WHERE id = ?", (row,)).fetchone()
        for _ in range(statements - 1):
            database.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (row,))
        database.execute("COMMIT")

    async def transaction(row: int) -> None:
        await asyncio.to_thread(run, row)

    return transaction


def _figures(times: list[float], cpu: float) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1e3, 3),
        "cpu_ms": round(cpu / len(times) * 1e3, 3),
    }


async def main(samples: int, statements: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-trips-"))
    path = folder / "trips.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    service, stock = create_engine(url), stock_engine(url)
    async with service.begin() as connection:
        await connection.execute(text("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        await connection.execute(text("INSERT INTO counters (id, n) VALUES (:id, 0)"), [{"id": n} for n in range(ROWS)])
    kinds = {
        "floor": floor_transaction(path, statements),
        "service": engine_transaction(service, statements),
        "stock_aiosqlite": engine_transaction(stock, statements),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu = dict.fromkeys(kinds, 0.0)
    try:
        for n in range(samples // 10):  # warm-up: connections made, statements compiled
            for transaction in kinds.values():
                await transaction(n % ROWS)
        order = list(kinds)
        for n in range(samples):
            order = order[1:] + order[:1]  # which kind goes first turns with each sample
            for kind in order:
                cpu_before, before = time.process_time(), time.perf_counter()
                await kinds[kind](n % ROWS)
                times[kind].append(time.perf_counter() - before)
                cpu[kind] += time.process_time() - cpu_before
    finally:
        await service.dispose()
        await stock.dispose()
    result: dict[str, object] = {"samples": samples, "statements": statements}
    for kind in kinds:
        figures = _figures(times[kind], cpu[kind])
        print(
            f"{kind:16} p50 {figures['p50_ms']:.3f} ms  p99 {figures['p99_ms']:.3f} ms  CPU {figures['cpu_ms']:.3f} ms"
        )
        result.update({f"{kind}_{name}": value for name, value in figures.items()})
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--statements", type=int, default=6, help="statements per transaction (default 6)")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.samples, arguments.statements))))
