"""The audit log's rows and its head: the statements behind :class:`meetsvc.services.audit.AuditLog`.

The head row (``audit_head``, one row with id 1) holds the last sequence number and hash. An
appender moves it first, in one statement that takes its row lock (serialising appenders across
processes) and answers where the chain ended; the hash chain itself is computed by the service,
which holds the key, and the entries are written after, in a statement that also makes the last
of them the head.

On SQLite a transaction that began with ``BEGIN IMMEDIATE`` holds the database's write lock from
its start: nobody else can append until it ends, so it may read the head within a statement it
sends anyway (:func:`head_columns`) instead of moving it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import audit_head, audit_log

_HEAD = audit_head.c.id == 1


@dataclass(frozen=True, slots=True)
class AuditHead:
    """Where the chain ends: the last entry's sequence number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class StoredAuditEntry:
    """One row of the log as stored; ``details`` is the JSON text that was hashed."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    meeting_id: str | None
    details: str
    prev_hash: str
    hash: str


async def advance_head(connection: Connection, count: int = 1) -> AuditHead:
    """Take the head row (its lock serialises appenders) and move it on by ``count`` entries;
    answer the new last sequence number with the hash of the entry before the first new one.

    One statement: ``UPDATE … RETURNING`` answers the row as this transaction locked it, so on
    PostgreSQL an appender that waited for another's commit sees that commit's hash (a separate
    ``SELECT`` would need its own round trip to see as much)."""
    row = (
        await connection.execute(
            update(audit_head)
            .where(_HEAD)
            .values(seq=audit_head.c.seq + count)
            .returning(audit_head.c.seq, audit_head.c.hash)
        )
    ).one()
    return AuditHead(seq=row.seq, hash=row.hash)


def head_columns() -> tuple[Any, Any]:
    """The head's sequence number and hash as two columns (``audit_seq``, ``audit_hash``) for
    another statement to read; only where the write lock is already held (SQLite's ``BEGIN
    IMMEDIATE``), see the module's docstring."""
    return (
        select(audit_head.c.seq).where(_HEAD).scalar_subquery().label("audit_seq"),
        select(audit_head.c.hash).where(_HEAD).scalar_subquery().label("audit_hash"),
    )


async def head(connection: Connection) -> AuditHead:
    row = (await connection.execute(select(audit_head.c.seq, audit_head.c.hash).where(_HEAD))).one()
    return AuditHead(seq=row.seq, hash=row.hash)


async def insert_entries(connection: Connection, entries: Sequence[StoredAuditEntry]) -> None:
    """Write the entries in one statement, in their order, and make the last of them the head (its
    sequence number and hash) in that same statement: on PostgreSQL by a data-modifying ``WITH``,
    on SQLite, which has none, by a trigger on the table (migration 0014).

    The rows go as the statement's parameter sets, not as a multi-row ``VALUES`` built into it:
    SQLAlchemy compiles a statement with its rows built in afresh every time (it has no cache key),
    and this one runs in every admission."""
    rows = [
        {
            "seq": entry.seq,
            "occurred_at": entry.occurred_at,
            "actor": entry.actor,
            "action": entry.action,
            "subject_type": entry.subject_type,
            "subject_id": entry.subject_id,
            "meeting_id": entry.meeting_id,
            "details": entry.details,
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        }
        for entry in entries
    ]
    last = entries[-1].hash
    if connection.dialect.name == "postgresql":
        # The head is set to where the last entry leaves it, not moved by a count: the driver may
        # run the statement once per row, and setting it again to the same place changes nothing.
        moved = update(audit_head).where(_HEAD).values(seq=entries[-1].seq, hash=last).cte("moved_head")
        await connection.execute(audit_log.insert().add_cte(moved), rows)
        return
    await connection.execute(audit_log.insert(), rows)


async def entries_after(connection: Connection, seq: int, *, limit: int) -> list[StoredAuditEntry]:
    """Up to ``limit`` entries after sequence number ``seq``, in order: one batch of a walk."""
    rows = (
        await connection.execute(select(audit_log).where(audit_log.c.seq > seq).order_by(audit_log.c.seq).limit(limit))
    ).all()
    return [
        StoredAuditEntry(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            meeting_id=row.meeting_id,
            details=row.details,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in rows
    ]
