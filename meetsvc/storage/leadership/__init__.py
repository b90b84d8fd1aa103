"""Holding the lead of the schedule, one module per database.

:mod:`meetsvc.schedule.leader` says what a lead must do (its ``Leadership`` Protocol); the
modules here do it with what each database offers: a session-level advisory lock on
PostgreSQL (:mod:`.postgres`), a ``flock`` on a file beside the database on SQLite
(:mod:`.sqlite`). :func:`for_database` picks the one for an engine.
"""

from __future__ import annotations

from pathlib import Path

from meetsvc.storage.engine import Engine
from meetsvc.storage.leadership.postgres import LOCK_KEY, AdvisoryLockLeadership
from meetsvc.storage.leadership.sqlite import FileLockLeadership

__all__ = ["LOCK_KEY", "AdvisoryLockLeadership", "FileLockLeadership", "for_database"]


def for_database(engine: Engine) -> AdvisoryLockLeadership | FileLockLeadership:
    """The lock for the engine's database; an in-memory SQLite database belongs to one process,
    which always leads."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLockLeadership(url)
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return FileLockLeadership(None)
    return FileLockLeadership(Path(f"{database}.schedule-lock"))
