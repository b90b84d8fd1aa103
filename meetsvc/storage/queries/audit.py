"""The audit log's rows and its head: the statements behind :class:`meetsvc.services.audit.AuditLog`.

The head row (``audit_head``, one row with id 1) holds the last sequence number and hash. An
appender bumps it first, which takes its row lock and so serialises appenders across processes;
the hash chain itself is computed by the service, which holds the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


async def advance_head(connection: Connection) -> AuditHead:
    """Take the head row (its lock serialises appenders) and move it to the next sequence number;
    answer the new number with the previous entry's hash."""
    await connection.execute(update(audit_head).where(_HEAD).values(seq=audit_head.c.seq + 1))
    return await head(connection)


async def head(connection: Connection) -> AuditHead:
    row = (await connection.execute(select(audit_head.c.seq, audit_head.c.hash).where(_HEAD))).one()
    return AuditHead(seq=row.seq, hash=row.hash)


async def insert_entry(connection: Connection, entry: StoredAuditEntry) -> None:
    await connection.execute(
        audit_log.insert().values(
            seq=entry.seq,
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            meeting_id=entry.meeting_id,
            details=entry.details,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )


async def set_head_hash(connection: Connection, digest: str) -> None:
    await connection.execute(update(audit_head).where(_HEAD).values(hash=digest))


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
