"""Participants on their way into a meeting, and the identity eID bound to each.

The waiting room moves participants through their states and the hosts compare the verified
identity with the invitation; these are the reads and writes behind both. None of them locks:
callers serialise on the meeting's row (see :mod:`meetsvc.storage.queries.waiting_room`).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, literal, select, update
from sqlalchemy.engine import Row

from meetsvc.domain.model import ParticipantState
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import meetings, participant_identities, participants


class Unchanged(enum.Enum):
    """Marks a column an update leaves as it is (``None`` is a value: it clears the column)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """What the waiting room reads of a participant (no contact details, no personal number)."""

    id: str
    meeting_id: str
    role: str
    organisation_id: str | None
    display_name: str
    state: str
    waiting_since: datetime | None
    unverified: bool
    host_message: str | None


@dataclass(frozen=True, slots=True)
class BoundIdentity:
    """The person eID verified for a participant, and whether it is the one invited."""

    given_name: str
    surname: str
    matches_invitation: bool | None
    # How: the eID ("bankid", "freja") and the level it vouched at ("loa3", "extended").
    provider: str = "bankid"
    level_of_assurance: str = "loa3"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.surname}"


@dataclass(frozen=True, slots=True)
class MeetingEnd:
    """The meeting a participant belongs to, and when it ends (a lobby ticket lives no longer)."""

    meeting_id: str
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class VerifiedPerson:
    """An identity to bind to a participant; the personal number only as its keyed hash."""

    given_name: str
    surname: str
    personal_number_hash: str
    matches_invitation: bool | None
    provider: str
    level_of_assurance: str
    verified_at: datetime


_RECORD = (
    participants.c.id,
    participants.c.meeting_id,
    participants.c.role,
    participants.c.organisation_id,
    participants.c.display_name,
    participants.c.state,
    participants.c.waiting_since,
    participants.c.unverified,
    participants.c.host_message,
)


def _record(row: Row[*tuple[Any, ...]]) -> ParticipantRecord:
    return ParticipantRecord(
        id=row.id,
        meeting_id=row.meeting_id,
        role=row.role,
        organisation_id=row.organisation_id,
        display_name=row.display_name,
        state=row.state,
        waiting_since=row.waiting_since,
        unverified=row.unverified,
        host_message=row.host_message,
    )


def _present(meeting_id: str) -> Select[Any]:
    return select(*_RECORD).where(participants.c.meeting_id == meeting_id, participants.c.removed_at.is_(None))


# Reading ---------------------------------------------------------------------------------------


async def present_participant(connection: Connection, meeting_id: str, participant_id: str) -> ParticipantRecord | None:
    """The participant of this meeting, unless removed from it."""
    row = (await connection.execute(_present(meeting_id).where(participants.c.id == participant_id))).first()
    return _record(row) if row is not None else None


async def reload_participant(connection: Connection, participant_id: str) -> ParticipantRecord:
    """A participant just written in this transaction (raises if there is none)."""
    row = (await connection.execute(select(*_RECORD).where(participants.c.id == participant_id))).one()
    return _record(row)


async def present_participants(connection: Connection, meeting_id: str) -> list[ParticipantRecord]:
    """Everyone of the meeting not removed, in no particular order."""
    return [_record(row) for row in (await connection.execute(_present(meeting_id))).all()]


async def queue(connection: Connection, meeting_id: str) -> list[ParticipantRecord]:
    """Everyone of the meeting not removed, those waiting first in the order they arrived."""
    query = _present(meeting_id).order_by(
        participants.c.waiting_since.is_(None), participants.c.waiting_since, participants.c.id
    )
    return [_record(row) for row in (await connection.execute(query)).all()]


async def waiting_participants(
    connection: Connection, meeting_id: str, *, participant_id: str | None = None
) -> list[ParticipantRecord]:
    """Those waiting in the meeting's waiting room (or just the one named, if waiting)."""
    query = _present(meeting_id).where(participants.c.state == ParticipantState.WAITING.value)
    if participant_id is not None:
        query = query.where(participants.c.id == participant_id)
    return [_record(row) for row in (await connection.execute(query)).all()]


async def waiting_ahead(connection: Connection, meeting_id: str, waiting_since: datetime, participant_id: str) -> int:
    """How many wait before this participant: those who came earlier, ties broken by id."""
    query = (
        select(func.count())
        .select_from(participants)
        .where(
            participants.c.meeting_id == meeting_id,
            participants.c.state == ParticipantState.WAITING.value,
            participants.c.removed_at.is_(None),
            (participants.c.waiting_since < waiting_since)
            | ((participants.c.waiting_since == waiting_since) & (participants.c.id < participant_id)),
        )
    )
    return int((await connection.execute(query)).scalar_one())


async def participant_state(connection: Connection, meeting_id: str, participant_id: str) -> str | None:
    """The state of a participant of this meeting, None when unknown or removed."""
    state = (
        await connection.execute(
            select(participants.c.state).where(
                participants.c.id == participant_id,
                participants.c.meeting_id == meeting_id,
                participants.c.removed_at.is_(None),
            )
        )
    ).scalar()
    return str(state) if state else None


async def meeting_end(connection: Connection, participant_id: str) -> MeetingEnd:
    """The participant's meeting and its end (raises if the participant does not exist)."""
    row = (
        await connection.execute(
            select(meetings.c.id, meetings.c.ends_at)
            .join(participants, participants.c.meeting_id == meetings.c.id)
            .where(participants.c.id == participant_id)
        )
    ).one()
    return MeetingEnd(meeting_id=row.id, ends_at=row.ends_at)


async def expected_personal_number_hash(connection: Connection, participant_id: str) -> str | None:
    """The keyed hash of the person the invitation expects, None when it expects nobody."""
    value = (
        await connection.execute(select(participants.c.personal_number_hash).where(participants.c.id == participant_id))
    ).scalar()
    return str(value) if value is not None else None


async def bound_identity(connection: Connection, participant_id: str) -> BoundIdentity | None:
    row = (
        await connection.execute(
            select(
                participant_identities.c.given_name,
                participant_identities.c.surname,
                participant_identities.c.matches_invitation,
                participant_identities.c.provider,
                participant_identities.c.level_of_assurance,
            ).where(participant_identities.c.participant_id == participant_id)
        )
    ).first()
    if row is None:
        return None
    return BoundIdentity(row.given_name, row.surname, row.matches_invitation, row.provider, row.level_of_assurance)


# Writing ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """What ``participants`` says of an invitation's entries (see ``WaitingRoom._summarise``)."""

    state: str
    waiting_since: datetime | None
    unverified: bool
    host_message: str | None


#: The columns of ``participants`` a summary writes: its fields, named as the columns.
SUMMARY_COLUMNS = tuple(field.name for field in fields(Summary))


def summary_values(summary: Summary) -> dict[str, Any]:
    """The columns of ``participants`` a summary writes, with its values."""
    return {name: getattr(summary, name) for name in SUMMARY_COLUMNS}


def summary_parameters(summary: Summary, *, prefix: str) -> dict[str, Any]:
    """:func:`summary_values` as the values of :func:`summary_set`'s parameters."""
    return {f"{prefix}{name}": value for name, value in summary_values(summary).items()}


def summary_set(*, prefix: str) -> dict[str, Any]:
    """The ``SET`` of a summary as named parameters (``prefix`` and the column's name, typed as
    the column), for a statement built once."""
    return {
        name: bindparam(f"{prefix}{name}", type_=participants.c[name].type) for name in (*SUMMARY_COLUMNS, "updated_at")
    }


@functools.cache
def _write_summary_statement() -> Any:
    """Built once: every decision on SQLite writes one summary."""
    return update(participants).where(participants.c.id == bindparam("summary_id")).values(summary_set(prefix="s_"))


async def write_summary(connection: Connection, participant_id: str, summary: Summary, *, updated_at: datetime) -> None:
    """One invitation's summary."""
    parameters = summary_parameters(summary, prefix="s_") | {"summary_id": participant_id, "s_updated_at": updated_at}
    await connection.execute(_write_summary_statement(), parameters)


async def update_summaries(connection: Connection, summaries: dict[str, Summary], *, updated_at: datetime) -> None:
    """Several participants' summaries in one statement (each column a ``CASE`` on the id)."""
    if not summaries:
        return

    def each(name: str) -> Any:
        column = participants.c[name]
        return case(
            *[
                (participants.c.id == pid, literal(getattr(summary, name), column.type))
                for pid, summary in summaries.items()
            ],
            else_=column,
        )

    await connection.execute(
        update(participants)
        .where(participants.c.id.in_(list(summaries)))
        .values(
            state=each("state"),
            waiting_since=each("waiting_since"),
            unverified=each("unverified"),
            host_message=each("host_message"),
            updated_at=updated_at,
        )
    )


async def set_host_message(connection: Connection, participant_id: str, text: str) -> None:
    await connection.execute(update(participants).where(participants.c.id == participant_id).values(host_message=text))


async def bind_identity(connection: Connection, participant_id: str, person: VerifiedPerson) -> None:
    """Bind the verified person to the participant, replacing an earlier identification's."""
    values = {
        "given_name": person.given_name,
        "surname": person.surname,
        "personal_number_hash": person.personal_number_hash,
        "matches_invitation": person.matches_invitation,
        "provider": person.provider,
        "level_of_assurance": person.level_of_assurance,
        "verified_at": person.verified_at,
    }
    existing = (
        await connection.execute(
            select(participant_identities.c.participant_id).where(
                participant_identities.c.participant_id == participant_id
            )
        )
    ).first()
    if existing is None:
        await connection.execute(participant_identities.insert().values(participant_id=participant_id, **values))
    else:
        await connection.execute(
            update(participant_identities)
            .where(participant_identities.c.participant_id == participant_id)
            .values(**values)
        )


async def bind_identity_once(connection: Connection, participant_id: str, person: VerifiedPerson) -> None:
    """Bind the first verified person to the invitation's record; a later identification
    through the same link leaves it as it is (each browser session has its own entry)."""
    existing = (
        await connection.execute(
            select(participant_identities.c.participant_id).where(
                participant_identities.c.participant_id == participant_id
            )
        )
    ).first()
    if existing is None:
        await bind_identity(connection, participant_id, person)
