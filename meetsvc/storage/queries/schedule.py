"""The schedule's statements: the meetings it plans from, and what its timed work changes.

:mod:`meetsvc.schedule.runner` plans its jobs from :class:`TimedMeeting` values;
:mod:`meetsvc.schedule.work` re-reads a :class:`DueMeeting` (locked against concurrent
changes) before it acts, and holds the transaction the changes below run in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update

from meetsvc.domain.model import MeetingStatus
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import (
    browser_sessions,
    identifications,
    meetings,
    participant_identities,
    participants,
    waiting_notes,
)


@dataclass(frozen=True, slots=True)
class TimedMeeting:
    """What decides a meeting's events (:func:`meetsvc.schedule.events.events_of`)."""

    id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    purged_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueMeeting:
    """A meeting as a job that fell due re-reads it: its times, and what a reminder needs."""

    id: str
    organisation_id: str
    status: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    purged_at: datetime | None


@dataclass(frozen=True, slots=True)
class Invitee:
    """A participant a reminder goes to, with the addresses it may use."""

    id: str
    email: str | None
    mobile: str | None
    language: str
    #: Staff and citizens are told of a meeting in different words.
    role: str


# Planning -----------------------------------------------------------------------------------

_TIMES = (meetings.c.id, meetings.c.status, meetings.c.starts_at, meetings.c.ends_at, meetings.c.purged_at)


async def _timed(connection: Connection, query: Select[Any]) -> list[TimedMeeting]:
    rows = (await connection.execute(query)).all()
    return [
        TimedMeeting(
            id=row.id, status=row.status, starts_at=row.starts_at, ends_at=row.ends_at, purged_at=row.purged_at
        )
        for row in rows
    ]


async def meetings_starting_by(connection: Connection, until: datetime) -> list[TimedMeeting]:
    """The meetings not yet purged that start by ``until`` (past ones included: their closing
    and purge may still be ahead)."""
    return await _timed(
        connection, select(*_TIMES).where(meetings.c.purged_at.is_(None), meetings.c.starts_at <= until)
    )


async def meetings_changed_since(connection: Connection, since: datetime) -> list[TimedMeeting]:
    """The meetings booked, moved or cancelled at or after ``since``, by any process."""
    return await _timed(connection, select(*_TIMES).where(meetings.c.updated_at >= since))


async def meetings_by_id(connection: Connection, meeting_ids: Iterable[str]) -> list[TimedMeeting]:
    return await _timed(connection, select(*_TIMES).where(meetings.c.id.in_(list(meeting_ids))))


# The timed work -----------------------------------------------------------------------------


async def due_meeting(connection: Connection, meeting_id: str, *, lock: bool) -> DueMeeting | None:
    """The meeting, or None if it is gone. With ``lock`` it stays locked (``FOR UPDATE`` on
    PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock) until the caller's
    transaction ends, so booking cannot move it while a job acts on it."""
    query = select(
        meetings.c.id,
        meetings.c.organisation_id,
        meetings.c.status,
        meetings.c.sequence,
        meetings.c.starts_at,
        meetings.c.ends_at,
        meetings.c.purged_at,
    ).where(meetings.c.id == meeting_id)
    if lock:
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    return DueMeeting(
        id=row.id,
        organisation_id=row.organisation_id,
        status=row.status,
        sequence=row.sequence,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        purged_at=row.purged_at,
    )


async def invited_by(connection: Connection, meeting_id: str, moment: datetime) -> list[Invitee]:
    """The meeting's participants, not removed, who were invited by ``moment``, in the order
    they were invited."""
    rows = (
        await connection.execute(
            select(
                participants.c.id,
                participants.c.email,
                participants.c.mobile,
                participants.c.language,
                participants.c.role,
            )
            .where(
                participants.c.meeting_id == meeting_id,
                participants.c.removed_at.is_(None),
                participants.c.created_at <= moment,
            )
            .order_by(participants.c.created_at, participants.c.id)
        )
    ).all()
    return [
        Invitee(id=row.id, email=row.email, mobile=row.mobile, language=row.language, role=row.role) for row in rows
    ]


async def mark_not_held(connection: Connection, meeting_id: str, *, now: datetime) -> None:
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting_id).values(status=MeetingStatus.NOT_HELD.value, updated_at=now)
    )


async def participant_ids(connection: Connection, meeting_id: str) -> list[str]:
    """Every participant of the meeting, removed ones included."""
    rows = await connection.execute(select(participants.c.id).where(participants.c.meeting_id == meeting_id))
    return list(rows.scalars())


async def erase_participants(connection: Connection, participant_ids: Sequence[str], *, now: datetime) -> None:
    """The retention rule for participants: their identification orders, sessions and verified
    identities go; names, contact details and personal numbers are cleared from their rows."""
    if not participant_ids:
        return
    ids = list(participant_ids)
    await connection.execute(delete(identifications).where(identifications.c.participant_id.in_(ids)))
    await connection.execute(delete(browser_sessions).where(browser_sessions.c.participant_id.in_(ids)))
    await connection.execute(delete(participant_identities).where(participant_identities.c.participant_id.in_(ids)))
    await connection.execute(delete(waiting_notes).where(waiting_notes.c.participant_id.in_(ids)))
    await connection.execute(
        update(participants)
        .where(participants.c.id.in_(ids))
        .values(
            display_name="",
            email=None,
            mobile=None,
            personal_number_enc=None,
            personal_number_hash=None,
            host_message=None,
            updated_at=now,
        )
    )


async def mark_purged(connection: Connection, meeting_id: str, *, now: datetime) -> None:
    """Clear the meeting's title and record when its personal data went."""
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting_id).values(title="", purged_at=now, updated_at=now)
    )
