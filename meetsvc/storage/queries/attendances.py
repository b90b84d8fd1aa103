"""Attendances: one person, in one browser session, on one invitation (see the table's note).

None of these lock: callers serialise on the meeting's row (see
:mod:`meetsvc.storage.queries.waiting_room`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, or_, select, update
from sqlalchemy.engine import Row

from meetsvc.domain.model import ParticipantState
from meetsvc.storage.engine import Connection
from meetsvc.storage.queries import participants as participants_queries
from meetsvc.storage.tables import attendances, organisations, participants


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    id: str
    meeting_id: str
    participant_id: str
    session_id: str
    state: str
    waiting_since: datetime | None
    unverified: bool
    host_message: str | None
    given_name: str | None
    surname: str | None
    personal_number_hash: str | None
    matches_invitation: bool | None
    # How this entry's person was identified (eID and level of assurance), None before.
    provider: str | None
    level_of_assurance: str | None
    second_person: bool
    sent_back: bool
    lobby_sockets: int
    video_sockets: int
    connection_lost_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    # Of the invitation: what the host's list shows beside the verified name.
    role: str
    organisation_id: str | None
    display_name: str
    # The invitation's organisation by name (the host's list shows it), read with the entry.
    organisation_name: str | None = None

    @property
    def verified(self) -> bool:
        return self.personal_number_hash is not None and not self.unverified

    @property
    def full_name(self) -> str | None:
        if self.given_name is None or self.surname is None:
            return None
        return f"{self.given_name} {self.surname}"


@dataclass(frozen=True, slots=True)
class NewAttendance:
    id: str
    meeting_id: str
    participant_id: str
    session_id: str
    state: str
    unverified: bool
    created_at: datetime
    given_name: str | None = None
    surname: str | None = None
    personal_number_hash: str | None = None
    matches_invitation: bool | None = None
    provider: str | None = None
    level_of_assurance: str | None = None
    verified_at: datetime | None = None
    second_person: bool = False


_COLUMNS = (
    attendances.c.id,
    attendances.c.meeting_id,
    attendances.c.participant_id,
    attendances.c.session_id,
    attendances.c.state,
    attendances.c.waiting_since,
    attendances.c.unverified,
    attendances.c.host_message,
    attendances.c.given_name,
    attendances.c.surname,
    attendances.c.personal_number_hash,
    attendances.c.matches_invitation,
    attendances.c.provider,
    attendances.c.level_of_assurance,
    attendances.c.second_person,
    attendances.c.sent_back,
    attendances.c.lobby_sockets,
    attendances.c.video_sockets,
    attendances.c.connection_lost_at,
    attendances.c.ended_at,
    attendances.c.end_reason,
    participants.c.role,
    participants.c.organisation_id,
    participants.c.display_name,
    organisations.c.name.label("organisation_name"),
)

#: An attendance record's fields, by the names its columns are read under.
_NAMES = tuple(column.name for column in _COLUMNS)

#: The attendance's own columns, as ``UPDATE … RETURNING`` answers them.
_OWN = tuple(column for column in _COLUMNS if column.table is attendances)


def _record(row: Row[*tuple[Any, ...]]) -> AttendanceRecord:
    return AttendanceRecord(**row._mapping)


def _joined() -> Select[Any]:
    return (
        select(*_COLUMNS)
        .join(participants, participants.c.id == attendances.c.participant_id)
        .outerjoin(organisations, organisations.c.id == participants.c.organisation_id)
    )


def _live(meeting_id: str) -> Select[Any]:
    """The meeting's attendances still open, on invitations not removed."""
    return _joined().where(
        attendances.c.meeting_id == meeting_id,
        attendances.c.ended_at.is_(None),
        participants.c.removed_at.is_(None),
    )


async def by_session(connection: Connection, session_id: str) -> AttendanceRecord | None:
    """The attendance a browser session opened, ended or not."""
    row = (await connection.execute(_joined().where(attendances.c.session_id == session_id))).first()
    return _record(row) if row is not None else None


async def by_id(connection: Connection, attendance_id: str) -> AttendanceRecord | None:
    row = (await connection.execute(_joined().where(attendances.c.id == attendance_id))).first()
    return _record(row) if row is not None else None


async def live_in_meeting(connection: Connection, meeting_id: str, attendance_id: str) -> AttendanceRecord | None:
    """This meeting's attendance, unless it ended or its invitation was removed."""
    row = (await connection.execute(_live(meeting_id).where(attendances.c.id == attendance_id))).first()
    return _record(row) if row is not None else None


async def live_of_participant(connection: Connection, participant_id: str) -> list[AttendanceRecord]:
    query = _joined().where(attendances.c.participant_id == participant_id, attendances.c.ended_at.is_(None))
    return [_record(row) for row in (await connection.execute(query.order_by(attendances.c.created_at))).all()]


async def of_participant(connection: Connection, participant_id: str) -> list[AttendanceRecord]:
    """Every attendance of an invitation, ended ones too, oldest first."""
    query = _joined().where(attendances.c.participant_id == participant_id)
    return [_record(row) for row in (await connection.execute(query.order_by(attendances.c.created_at))).all()]


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation of a meeting with every entry opened on it (ended ones too), oldest first."""

    entries: list[AttendanceRecord]


#: What :func:`invitation_entries` reads beside the invitation's id, for a query that joins it.
INVITATION_COLUMNS = (participants.c.id.label("invitation_id"), *_COLUMNS)


def invitation_of(rows: Sequence[Row[*tuple[Any, ...]]]) -> Invitation | None:
    """The invitation read with :data:`INVITATION_COLUMNS` (outer-joined: None where there was
    none), one row an entry, or none opened yet."""
    if not rows or rows[0].invitation_id is None:
        return None
    found = []
    for row in rows:
        if row.id is None:
            continue  # the invitation, nobody has opened it
        found.append(AttendanceRecord(**{name: row._mapping[name] for name in _NAMES}))
    return Invitation(found)


async def invitation_entries(connection: Connection, meeting_id: str, participant_id: str) -> Invitation | None:
    """The invitation and all its entries, in one statement; None when the meeting has no such
    invitation or it was removed. A host's decision reads this once: the entry it names and
    those beside it (which speak for the invitation's summary) are all here."""
    parameters = {"participant_id": participant_id, "meeting_id": meeting_id}
    return invitation_of((await connection.execute(_invitation_entries_statement(), parameters)).all())


@functools.cache
def _invitation_entries_statement() -> Select[Any]:
    """Built once, its values named parameters: every decision on PostgreSQL runs it, and
    building it and working out its cache key cost more than running it."""
    return (
        select(*INVITATION_COLUMNS)
        .select_from(participants)
        .outerjoin(attendances, attendances.c.participant_id == participants.c.id)
        .outerjoin(organisations, organisations.c.id == participants.c.organisation_id)
        .where(
            participants.c.id == bindparam("participant_id"),
            participants.c.meeting_id == bindparam("meeting_id"),
            participants.c.removed_at.is_(None),
        )
        .order_by(attendances.c.created_at, attendances.c.id)
    )


async def live_of_meeting(connection: Connection, meeting_id: str) -> list[AttendanceRecord]:
    """Every open attendance of the meeting, those waiting first in the order they arrived."""
    query = _live(meeting_id).order_by(
        attendances.c.waiting_since.is_(None), attendances.c.waiting_since, attendances.c.created_at, attendances.c.id
    )
    return [_record(row) for row in (await connection.execute(query)).all()]


async def listed_of_meeting(connection: Connection, meeting_id: str) -> list[AttendanceRecord]:
    """What the host's list shows: open attendances, and closed ones a host decided (denied,
    removed) or that left, so the host sees what became of them."""
    query = (
        _joined()
        .where(attendances.c.meeting_id == meeting_id, participants.c.removed_at.is_(None))
        .order_by(
            attendances.c.waiting_since.is_(None),
            attendances.c.waiting_since,
            attendances.c.created_at,
            attendances.c.id,
        )
    )
    return [_record(row) for row in (await connection.execute(query)).all()]


async def waiting_of_meeting(
    connection: Connection, meeting_id: str, *, attendance_id: str | None = None
) -> list[AttendanceRecord]:
    """The meeting's open entries waiting, in their order in the queue (see :func:`waiting_ahead`)."""
    query = _live(meeting_id).where(attendances.c.state == ParticipantState.WAITING.value)
    if attendance_id is not None:
        query = query.where(attendances.c.id == attendance_id)
    query = query.order_by(attendances.c.waiting_since, attendances.c.id)
    return [_record(row) for row in (await connection.execute(query)).all()]


async def waiting_ahead(connection: Connection, meeting_id: str, waiting_since: datetime, attendance_id: str) -> int:
    query = (
        select(func.count())
        .select_from(attendances.join(participants, participants.c.id == attendances.c.participant_id))
        .where(
            attendances.c.meeting_id == meeting_id,
            attendances.c.state == ParticipantState.WAITING.value,
            attendances.c.ended_at.is_(None),
            participants.c.removed_at.is_(None),
            (attendances.c.waiting_since < waiting_since)
            | ((attendances.c.waiting_since == waiting_since) & (attendances.c.id < attendance_id)),
        )
    )
    return int((await connection.execute(query)).scalar_one())


async def state_in_meeting(connection: Connection, meeting_id: str, attendance_id: str) -> str | None:
    """The state of an open attendance of this meeting, None when unknown, ended or removed."""
    found = await live_in_meeting(connection, meeting_id, attendance_id)
    return found.state if found is not None else None


async def insert(connection: Connection, new: NewAttendance) -> None:
    await connection.execute(
        attendances.insert().values(
            id=new.id,
            meeting_id=new.meeting_id,
            participant_id=new.participant_id,
            session_id=new.session_id,
            state=new.state,
            unverified=new.unverified,
            given_name=new.given_name,
            surname=new.surname,
            personal_number_hash=new.personal_number_hash,
            matches_invitation=new.matches_invitation,
            provider=new.provider,
            level_of_assurance=new.level_of_assurance,
            verified_at=new.verified_at,
            second_person=new.second_person,
            created_at=new.created_at,
            updated_at=new.created_at,
        )
    )


async def changed(connection: Connection, row: AttendanceRecord, *, now: datetime, **values: Any) -> AttendanceRecord:
    """Write the given columns of one attendance and answer it as written (``UPDATE …
    RETURNING``: no second read); its invitation's columns are the ones ``row`` was read with."""
    query = _changed_statement(tuple(sorted(values)))
    written = (await connection.execute(query, _changed_parameters(row, now, values))).one()
    return replace(row, **written._mapping)


async def changed_and_summarised(
    connection: Connection,
    row: AttendanceRecord,
    summary: participants_queries.Summary,
    *,
    now: datetime,
    **values: Any,
) -> AttendanceRecord:
    """:func:`changed`, with the invitation's summary (``participants``) written as the caller
    worked it out from its entries as they now stand. One statement on PostgreSQL, the entry's
    ``UPDATE`` in a data-modifying ``WITH`` whose ``RETURNING`` the summary's ``UPDATE`` answers;
    two on SQLite, which has none."""
    if connection.dialect.name != "postgresql":
        fresh = await changed(connection, row, now=now, **values)
        await participants_queries.write_summary(connection, row.participant_id, summary, updated_at=now)
        return fresh
    query = _changed_and_summarised_statement(tuple(sorted(values)))
    parameters = _changed_parameters(row, now, values) | participants_queries.summary_parameters(summary, prefix="s_")
    parameters["s_updated_at"] = now
    return replace(row, **(await connection.execute(query, parameters)).one()._mapping)


# Every decision writes one entry through one of the statements below. Each is built once for
# each set of columns it writes, their values named parameters (``e_`` and the column's name):
# building it and working out its key in SQLAlchemy's compiled cache cost more than running it.


def _changed_parameters(row: AttendanceRecord, now: datetime, values: dict[str, Any]) -> dict[str, Any]:
    return {"entry_id": row.id, "e_updated_at": now} | {f"e_{name}": value for name, value in values.items()}


def _entry_update(names: tuple[str, ...]) -> Any:
    return (
        update(attendances)
        .where(attendances.c.id == bindparam("entry_id"))
        .values({name: bindparam(f"e_{name}", type_=attendances.c[name].type) for name in (*names, "updated_at")})
        .returning(*_OWN)
    )


@functools.cache
def _changed_statement(names: tuple[str, ...]) -> Any:
    return _entry_update(names)


@functools.cache
def _changed_and_summarised_statement(names: tuple[str, ...]) -> Any:
    written = _entry_update(names).cte("written_entry")
    return (
        update(participants)
        .where(participants.c.id == written.c.participant_id)
        .values(participants_queries.summary_set(prefix="s_"))
        .returning(*[written.c[column.name] for column in _OWN])
    )


async def changed_all(
    connection: Connection, rows: list[AttendanceRecord], *, now: datetime, **values: Any
) -> list[AttendanceRecord]:
    """:func:`changed` for several attendances given the same values, in one statement; answered
    in the order of ``rows``."""
    if not rows:
        return []
    written = (
        await connection.execute(
            update(attendances)
            .where(attendances.c.id.in_([row.id for row in rows]))
            .values(updated_at=now, **values)
            .returning(*_OWN)
        )
    ).all()
    by_id = {row.id: row._mapping for row in written}
    return [replace(row, **by_id[row.id]) for row in rows]


async def change(connection: Connection, attendance_id: str, *, now: datetime, **values: Any) -> None:
    """Write the given columns of one attendance."""
    await connection.execute(
        update(attendances).where(attendances.c.id == attendance_id).values(updated_at=now, **values)
    )


async def end(connection: Connection, attendance_id: str, *, now: datetime, reason: str) -> None:
    await connection.execute(
        update(attendances)
        .where(attendances.c.id == attendance_id, attendances.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason, updated_at=now)
    )


async def forget_sockets(connection: Connection, *, now: datetime) -> list[Any]:
    """Count every entry's sockets out at once (no socket of this process survived its last
    run) and answer (id, participant_id, meeting_id) of the open entries whose video was still
    counted, read before the reset. A page whose lobby socket was counted has lost its
    connection as of now, as when its last socket closes."""
    counted = or_(attendances.c.lobby_sockets > 0, attendances.c.video_sockets > 0)
    in_video = (
        await connection.execute(
            select(attendances.c.id, attendances.c.participant_id, attendances.c.meeting_id)
            .where(attendances.c.video_sockets > 0, attendances.c.ended_at.is_(None))
            .order_by(attendances.c.id)
        )
    ).all()
    await connection.execute(
        update(attendances)
        .where(counted)
        .values(
            lobby_sockets=0,
            video_sockets=0,
            connection_lost_at=case((attendances.c.lobby_sockets > 0, now), else_=attendances.c.connection_lost_at),
        )
    )
    return list(in_video)


async def adjust_sockets(connection: Connection, attendance_id: str, *, kind: str, by: int, now: datetime) -> None:
    """Count a socket of the entry in (``by=1``) or out (``by=-1``); never below zero."""
    column = attendances.c.lobby_sockets if kind == "lobby" else attendances.c.video_sockets
    await connection.execute(
        update(attendances)
        .where(attendances.c.id == attendance_id)
        .values({column: case((column + by < 0, 0), else_=column + by)})
    )
