"""The audit log: append-only, hash-chained, and checkable by a command.

Each entry carries the HMAC-SHA256 of its own content and the previous entry's hash, under a key
kept outside the database. Changing, inserting or deleting a row breaks the chain at that row,
and somebody who can write to the database but does not hold the key cannot rebuild it.

Entries are written in the same transaction as the change they record, so a change without its
entry (or an entry for a change that was rolled back) cannot exist. Entries are pseudonymous:
ids and roles, never personal identity numbers, names or meeting subjects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meetsvc.core.secrets import Secret
from meetsvc.domain.rules import contains_personal_number
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import audit as queries

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    meeting_id: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "meeting_id": entry.meeting_id,
        "details": entry.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(key: Secret, prev_hash: str, entry: AuditEntry) -> str:
    return hmac.new(key.reveal(), prev_hash.encode() + b"\n" + _canonical(entry), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """An entry to append: what happened, by whom, to what (its place in the chain comes with
    the append)."""

    actor: str
    action: str
    subject_type: str
    subject_id: str
    meeting_id: str | None = None
    details: Mapping[str, Any] | None = None
    now: datetime | None = None


class AuditLog:
    def __init__(self, key: Secret) -> None:
        self._key = key

    async def append(
        self,
        connection: Connection,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        meeting_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry inside the caller's transaction."""
        new = NewAuditEntry(actor, action, subject_type, subject_id, meeting_id, details, now)
        return (await self.append_all(connection, [new]))[0]

    async def append_all(
        self, connection: Connection, new: Sequence[NewAuditEntry], *, head: queries.AuditHead | None = None
    ) -> list[AuditEntry]:
        """Append several entries, in their order, inside the caller's transaction.

        The head moves once for all of them and they are written in one statement, so a
        decision that records several changes costs the database no more than one that records
        one; the chain is the same as appending them one by one. ``head``: where the chain ends,
        when the caller read it under SQLite's write lock (:func:`queries.head_columns`); the
        entries' own INSERT then moves it, with no statement before."""
        if not new:
            return []
        serialised = []
        for one in new:
            details = json.dumps(dict(one.details or {}), sort_keys=True)
            # Defence in depth: refuse to write anything that is a personal identity number.
            if contains_personal_number(details, among_ids=True):
                raise ValueError("audit details must not contain personal identity numbers")
            serialised.append(details)
        # Taking the head row first serialises appenders (see tables.audit_head).
        if head is None:
            moved = await queries.advance_head(connection, len(new))
            seq, prev_hash = moved.seq - len(new), moved.hash
        else:
            seq, prev_hash = head.seq, head.hash
        written: list[AuditEntry] = []
        stored: list[queries.StoredAuditEntry] = []
        for one, details_text in zip(new, serialised, strict=True):
            seq += 1
            entry = AuditEntry(
                seq=seq,
                occurred_at=(one.now or datetime.now(UTC)).astimezone(UTC),
                actor=one.actor,
                action=one.action,
                subject_type=one.subject_type,
                subject_id=one.subject_id,
                meeting_id=one.meeting_id,
                details=dict(one.details or {}),
            )
            digest = chain_hash(self._key, prev_hash, entry)
            stored.append(
                queries.StoredAuditEntry(
                    seq=entry.seq,
                    occurred_at=entry.occurred_at,
                    actor=entry.actor,
                    action=entry.action,
                    subject_type=entry.subject_type,
                    subject_id=entry.subject_id,
                    meeting_id=entry.meeting_id,
                    details=details_text,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
            written.append(entry)
            prev_hash = digest
        await queries.insert_entries(connection, stored)
        return written

    async def verify(self, connection: Connection, *, batch: int = 1000) -> Verification:
        """Walk the chain from the first entry and report the first link that does not hold."""
        prev_hash, expected_seq, count = GENESIS, 1, 0
        last_seq = 0
        while True:
            rows = await queries.entries_after(connection, last_seq, limit=batch)
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return Verification(False, count, prev_hash, expected_seq, f"entry {expected_seq} is missing")
                if row.prev_hash != prev_hash:
                    return Verification(False, count, prev_hash, row.seq, "does not point at the entry before it")
                try:
                    details = json.loads(row.details)
                except ValueError:
                    return Verification(False, count, prev_hash, row.seq, "details are not valid JSON")
                entry = AuditEntry(
                    row.seq,
                    row.occurred_at,
                    row.actor,
                    row.action,
                    row.subject_type,
                    row.subject_id,
                    row.meeting_id,
                    details,
                )
                if not hmac.compare_digest(chain_hash(self._key, prev_hash, entry), row.hash):
                    return Verification(False, count, prev_hash, row.seq, "content does not match its hash")
                prev_hash, expected_seq, count, last_seq = row.hash, expected_seq + 1, count + 1, row.seq
        head = await queries.head(connection)
        if head.seq != count or head.hash != prev_hash:
            return Verification(False, count, prev_hash, count + 1, "entries after this point were deleted")
        return Verification(True, count, prev_hash)

    async def verify_stored(self, engine: Engine, *, batch: int = 1000) -> Verification:
        """:meth:`verify` on a connection of its own, for the operator's command, which holds no
        transaction of its own."""
        async with engine.connect() as connection:
            return await self.verify(connection, batch=batch)
