"""A meeting as its waiting room, its hosts and its video room see it.

Every decision in the waiting room starts by locking the meeting's row
(:func:`room_meeting` with ``lock=True``), so two hosts or two processes deciding about the same
meeting are serialised; the participants' rows are then read and written under that lock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update

from meetsvc.storage.engine import Connection
from meetsvc.storage.queries import attendances as attendances_queries, audit as audit_queries
from meetsvc.storage.queries.attendances import Invitation
from meetsvc.storage.queries.audit import AuditHead
from meetsvc.storage.queries.sessions import SessionCheck, live_session, live_session_parameters, touch_if_due
from meetsvc.storage.tables import (
    attendances,
    browser_sessions,
    meeting_hosts,
    meetings,
    organisations,
    participants,
    staff_members,
)


@dataclass(frozen=True, slots=True)
class RoomMeeting:
    """What the waiting room and the host console need of a meeting."""

    id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: str
    locked: bool
    admission_policy: str
    show_queue_position: bool
    #: The booking organisation and the partner: the console names both.
    organisation_id: str = ""
    partner_organisation_id: str = ""


@dataclass(frozen=True, slots=True)
class MeetingTimes:
    starts_at: datetime
    ends_at: datetime


_ROOM = (
    meetings.c.id,
    meetings.c.title,
    meetings.c.starts_at,
    meetings.c.ends_at,
    meetings.c.time_zone,
    meetings.c.status,
    meetings.c.locked,
    meetings.c.admission_policy,
    meetings.c.show_queue_position,
    meetings.c.organisation_id,
    meetings.c.partner_organisation_id,
)


async def room_meeting(connection: Connection, meeting_id: str, *, lock: bool) -> RoomMeeting | None:
    """The meeting, with its row locked until the transaction ends when ``lock`` is set
    (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write lock is already held)."""
    query = select(*_ROOM).where(meetings.c.id == meeting_id)
    if lock:
        query = query.with_for_update()
    return _room((await connection.execute(query)).first())


def _hosted(query: Select[Any], *, session: bool) -> Select[Any]:
    """``query`` (from the meeting) kept to the meeting ``:meeting_id`` when the staff member
    ``:staff_id`` is one of its active hosts and, with ``session``, only while that session of
    theirs is live (:func:`~meetsvc.storage.queries.sessions.live_session`'s parameters)."""
    query = query.join(meeting_hosts, meeting_hosts.c.meeting_id == meetings.c.id).join(
        staff_members, staff_members.c.id == meeting_hosts.c.staff_id
    )
    if session:
        query = query.join(browser_sessions, live_session()).add_columns(
            browser_sessions.c.last_seen_at.label("session_seen_at")
        )
    return query.where(
        meetings.c.id == bindparam("meeting_id"),
        meeting_hosts.c.staff_id == bindparam("staff_id"),
        # A deactivated staff member leads nothing, whatever the meeting still lists.
        staff_members.c.active.is_(True),
    )


def _hosted_parameters(meeting_id: str, staff_id: str, session: SessionCheck | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"meeting_id": meeting_id, "staff_id": staff_id}
    if session is not None:
        parameters |= live_session_parameters(session)
    return parameters


# A host's every decision runs one of the statements below. They are built once, their values
# named parameters: building a statement of a dozen joins and forty columns, and working out
# its key in SQLAlchemy's compiled cache, cost more than the database took to run it.


@functools.cache
def _hosted_meeting_statement(*, lock: bool, session: bool) -> Select[Any]:
    query = _hosted(select(*_ROOM).select_from(meetings), session=session)
    return query.with_for_update(of=meetings) if lock else query


@functools.cache
def _hosted_invitation_statement(*, session: bool) -> Select[Any]:
    """SQLite's one statement for :func:`hosted_invitation`; ``:participant_id`` names the invitation."""
    meeting_columns = [column.label(f"meeting_{column.name}") for column in _ROOM]
    query = _hosted(
        select(*meeting_columns, *attendances_queries.INVITATION_COLUMNS, *audit_queries.head_columns()).select_from(
            meetings
        ),
        session=session,
    )
    return (
        query.outerjoin(
            participants,
            (participants.c.meeting_id == meetings.c.id)
            & (participants.c.id == bindparam("participant_id"))
            & participants.c.removed_at.is_(None),
        )
        .outerjoin(attendances, attendances.c.participant_id == participants.c.id)
        .outerjoin(organisations, organisations.c.id == participants.c.organisation_id)
        .order_by(attendances.c.created_at, attendances.c.id)
    )


async def hosted_meeting(
    connection: Connection, meeting_id: str, staff_id: str, *, lock: bool, session: SessionCheck | None = None
) -> RoomMeeting | None:
    """The meeting if this staff member is one of its active hosts, else None; with ``lock``,
    its row is locked as :func:`room_meeting` locks it. One statement: a host's decision checks
    the right to decide and takes the meeting's lock at once. With ``session``, the staff
    member's session is checked in the same statement (None when it is over) and its idle
    clock moved when due."""
    query = _hosted_meeting_statement(lock=lock, session=session is not None)
    row = (await connection.execute(query, _hosted_parameters(meeting_id, staff_id, session))).first()
    if row is not None and session is not None:
        await touch_if_due(connection, session, row.session_seen_at)
    return _room(row)


async def hosted_invitation(
    connection: Connection, meeting_id: str, staff_id: str, participant_id: str, session: SessionCheck | None = None
) -> tuple[RoomMeeting, Invitation | None, AuditHead | None] | None:
    """:func:`hosted_meeting` (locked) and the invitation's entries
    (:func:`meetsvc.storage.queries.attendances.invitation_entries`): all a host's decision
    about one invitation reads. None when the staff member leads no such meeting; the
    invitation None when the meeting has no such invitation or it was removed.

    One statement on SQLite, whose ``BEGIN IMMEDIATE`` took the write lock before anything was
    read; it reads the audit log's head too, which the decision's entries then move with no
    statement before them (:func:`meetsvc.storage.queries.audit.head_columns`). Two on
    PostgreSQL, which answers no head (the decision moves it when it writes its entries, so the
    head's lock is held for as short a time as it was): a statement that waits for the meeting's
    row lock reads the other tables as they were when it *started* (READ COMMITTED), so entries
    read with the lock could predate the decision that held it; read after the lock, they
    include it."""
    if connection.dialect.name != "sqlite":
        meeting = await hosted_meeting(connection, meeting_id, staff_id, lock=True, session=session)
        if meeting is None:
            return None
        return meeting, await attendances_queries.invitation_entries(connection, meeting_id, participant_id), None
    parameters = _hosted_parameters(meeting_id, staff_id, session) | {"participant_id": participant_id}
    rows = (await connection.execute(_hosted_invitation_statement(session=session is not None), parameters)).all()
    if not rows:
        return None
    first = rows[0]._mapping
    if session is not None:
        await touch_if_due(connection, session, first["session_seen_at"])
    meeting = RoomMeeting(**{column.name: first[f"meeting_{column.name}"] for column in _ROOM})
    head = AuditHead(seq=first["audit_seq"], hash=first["audit_hash"])
    return meeting, attendances_queries.invitation_of(rows), head


def _room(row: Any) -> RoomMeeting | None:
    if row is None:
        return None
    return RoomMeeting(
        id=row.id,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        time_zone=row.time_zone,
        status=row.status,
        locked=row.locked,
        admission_policy=row.admission_policy,
        show_queue_position=row.show_queue_position,
        organisation_id=row.organisation_id,
        partner_organisation_id=row.partner_organisation_id,
    )


async def is_host(connection: Connection, meeting_id: str, staff_id: str) -> bool:
    """Whether an active staff member is one of the meeting's hosts."""
    row = (
        await connection.execute(
            select(meeting_hosts.c.staff_id)
            .join(staff_members, staff_members.c.id == meeting_hosts.c.staff_id)
            .where(
                meeting_hosts.c.meeting_id == meeting_id,
                meeting_hosts.c.staff_id == staff_id,
                # A deactivated staff member leads nothing, whatever the meeting still lists.
                staff_members.c.active.is_(True),
            )
        )
    ).first()
    return row is not None


@dataclass(frozen=True, slots=True)
class RoomHost:
    """A host as the console lists them: the name, and the HSA-id where one is on file."""

    display_name: str
    hsa_id: str | None


async def hosts_of_meeting(connection: Connection, meeting_id: str) -> list[RoomHost]:
    rows = (
        await connection.execute(
            select(staff_members.c.display_name, staff_members.c.hsa_id)
            .join(meeting_hosts, meeting_hosts.c.staff_id == staff_members.c.id)
            .where(meeting_hosts.c.meeting_id == meeting_id)
            .order_by(meeting_hosts.c.position)
        )
    ).all()
    return [RoomHost(display_name=row.display_name, hsa_id=row.hsa_id) for row in rows]


async def host_display_name(connection: Connection, staff_id: str) -> str:
    """The name a host is shown under in the video room (raises if the staff member is unknown)."""
    name = (
        await connection.execute(select(staff_members.c.display_name).where(staff_members.c.id == staff_id))
    ).scalar_one()
    return str(name)


async def meeting_times(connection: Connection, meeting_id: str) -> MeetingTimes:
    """When the meeting starts and ends (raises if there is no such meeting)."""
    row = (
        await connection.execute(select(meetings.c.starts_at, meetings.c.ends_at).where(meetings.c.id == meeting_id))
    ).one()
    return MeetingTimes(row.starts_at, row.ends_at)


async def set_meeting_status(connection: Connection, meeting_id: str, status: str, *, now: datetime) -> None:
    await connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(status=status, updated_at=now))


async def configure_room(
    connection: Connection,
    meeting_id: str,
    *,
    locked: bool | None = None,
    admission_policy: str | None = None,
    show_queue_position: bool | None = None,
) -> None:
    """Change the settings given (those left None stay as they are)."""
    values: dict[str, Any] = {}
    if locked is not None:
        values["locked"] = locked
    if admission_policy is not None:
        values["admission_policy"] = admission_policy
    if show_queue_position is not None:
        values["show_queue_position"] = show_queue_position
    if values:
        await connection.execute(update(meetings).where(meetings.c.id == meeting_id).values(**values))
