"""Counting the SQL statements an operation sends, to prove a query bound.

A bound on statements ("a page of the list costs the same number of queries however long it
is") is checked by counting what the engine sends while the operation runs: SQLAlchemy's
``before_cursor_execute`` event sees every statement on every connection of the engine,
including the transaction's own ``BEGIN`` on SQLite (sent by our ``begin`` listener), so the
count is what the database actually received, not an estimate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Statements:
    """The statements sent while counting, in order (their SQL text, parameters left out)."""

    sent: list[str] = field(default_factory=list)
    #: Those SQLAlchemy compiled afresh instead of taking from its compiled cache (a statement
    #: with no cache key, or one not seen before); the driver-level ``BEGIN`` is in neither list.
    compiled_afresh: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent)

    def starting_with(self, prefix: str) -> list[str]:
        return [s for s in self.sent if s.lstrip().upper().startswith(prefix.upper())]

    def __str__(self) -> str:
        return "\n".join(f"{n:3}: {s.splitlines()[0][:120]}" for n, s in enumerate(self.sent, 1))


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Statements]:
    """Count the statements ``engine`` sends inside the block for the task that counts.

    Only that task's: the service's background work (the outbox, the fan-out) runs in tasks of
    its own on the same engine and would otherwise be counted whenever it happened to run.
    SQLAlchemy runs a statement in a greenlet inside the awaiting task, so the current task
    while the event fires is the one that awaited the statement.
    """
    found = Statements()
    counter = asyncio.current_task()

    def seen(_conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if asyncio.current_task() is counter:
            found.sent.append(statement)
            if context.compiled is not None and context.cache_hit is not CacheStats.CACHE_HIT:
                found.compiled_afresh.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield found
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
