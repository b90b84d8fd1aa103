"""Notes a waiting participant sent the hosts: stored for the host's list, counted for the limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import waiting_notes


@dataclass(frozen=True, slots=True)
class StoredNote:
    participant_id: str
    text: str
    created_at: datetime


async def add_note(
    connection: Connection, *, note_id: str, meeting_id: str, participant_id: str, text: str, now: datetime
) -> None:
    await connection.execute(
        insert(waiting_notes).values(
            id=note_id, meeting_id=meeting_id, participant_id=participant_id, text=text, created_at=now
        )
    )


async def notes_since(connection: Connection, participant_id: str, since: datetime | None) -> int:
    """How many notes the participant sent since ``since`` (all of them when None)."""
    query = select(func.count()).select_from(waiting_notes).where(waiting_notes.c.participant_id == participant_id)
    if since is not None:
        query = query.where(waiting_notes.c.created_at > since)
    return int((await connection.execute(query)).scalar_one())


async def latest_notes(connection: Connection, meeting_id: str, *, per_participant: int) -> list[StoredNote]:
    """The newest notes of each participant of the meeting, oldest first."""
    ranked = select(
        waiting_notes.c.participant_id,
        waiting_notes.c.text,
        waiting_notes.c.created_at,
        func.row_number()
        .over(partition_by=waiting_notes.c.participant_id, order_by=waiting_notes.c.created_at.desc())
        .label("rank"),
    ).where(waiting_notes.c.meeting_id == meeting_id)
    inner = ranked.subquery()
    rows = (
        await connection.execute(
            select(inner.c.participant_id, inner.c.text, inner.c.created_at)
            .where(inner.c.rank <= per_participant)
            .order_by(inner.c.created_at)
        )
    ).all()
    return [StoredNote(r.participant_id, r.text, r.created_at) for r in rows]
