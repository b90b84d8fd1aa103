"""Who runs the schedule: exactly one process at a time, and another soon after it stops.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own. The
database releases it the moment that session ends (the process died, was killed, lost its
network), and a standby process's next try takes it. The leader checks its connection every few
seconds and stands down when it is gone, so two leaders overlap for at most that long; the work
tolerates that (see :mod:`meetsvc.schedule.work`).

On SQLite (one machine, development and small installations) the same is done with an
exclusive ``flock`` on a file beside the database, which the kernel releases when the process
dies. An in-memory database belongs to one process, which always leads.

The schedule depends only on :class:`Leadership`; each database's lock is a module of
:mod:`meetsvc.storage.leadership`.
"""

from __future__ import annotations

from typing import Protocol

from meetsvc.storage import leadership as locks
from meetsvc.storage.engine import Engine
from meetsvc.storage.leadership import LOCK_KEY, AdvisoryLockLeadership, FileLockLeadership

__all__ = ["LOCK_KEY", "AdvisoryLockLeadership", "FileLockLeadership", "Leadership", "leadership_for"]


class Leadership(Protocol):
    async def try_acquire(self) -> bool:
        """Take the lead if nobody holds it; never waits for it."""
        ...

    async def still_held(self) -> bool:
        """Whether the lead taken is still ours (False once its connection is gone)."""
        ...

    async def release(self) -> None: ...


def leadership_for(engine: Engine) -> Leadership:
    """The lead of the schedule as the engine's database holds it."""
    return locks.for_database(engine)
