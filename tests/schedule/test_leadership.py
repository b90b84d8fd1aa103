"""Exactly one process runs the schedule: the lock, who gets it, and who gets it next."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from meetsvc.schedule.leader import LOCK_KEY, AdvisoryLockLeadership, FileLockLeadership, leadership_for
from meetsvc.storage.engine import create_engine


async def test_postgresql_one_holder_and_the_next_takes_over_when_its_session_ends(postgres_template):
    url = await postgres_template.clone()
    first, second = AdvisoryLockLeadership(make_url(url)), AdvisoryLockLeadership(make_url(url))
    engine = create_engine(url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held()

        # The leading process vanishes: its database session is killed, as a crash would end it.
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        assert not await first.still_held()
        assert await second.try_acquire()
        assert not await first.try_acquire()

        await second.release()
        assert await first.try_acquire()
    finally:
        await first.release()
        await second.release()
        await engine.dispose()
        await postgres_template.drop(url.rsplit("/", 1)[1])


async def test_postgresql_locks_are_per_database(postgres_template):
    one, two = await postgres_template.clone(), await postgres_template.clone()
    a, b = AdvisoryLockLeadership(make_url(one)), AdvisoryLockLeadership(make_url(two))
    try:
        assert await a.try_acquire() and await b.try_acquire()
    finally:
        await a.release()
        await b.release()
        for url in (one, two):
            await postgres_template.drop(url.rsplit("/", 1)[1])
    assert isinstance(LOCK_KEY, int) and -(2**63) <= LOCK_KEY < 2**63


async def test_sqlite_a_file_lock_beside_the_database(tmp_path: Path):
    database = tmp_path / "meetsvc.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    first, second = leadership_for(engine), leadership_for(engine)
    try:
        assert isinstance(first, FileLockLeadership)
        assert await first.try_acquire()
        assert not await second.try_acquire()
        await first.release()
        assert await second.try_acquire()
        assert (tmp_path / "meetsvc.sqlite3.schedule-lock").exists()
    finally:
        await second.release()
        await engine.dispose()
