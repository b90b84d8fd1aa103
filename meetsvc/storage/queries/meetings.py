"""Meetings as booked: the meeting, its hosts, its roster of participants and their invitations.

The booking use cases hold the transaction and call these in it. A meeting is read as a
:class:`MeetingRecord` (what the row says, for the rules and the notices) and completed into the
domain's :class:`~meetsvc.domain.model.Meeting` by :func:`as_meeting` (a page of them by
:func:`as_meetings`, in a constant number of statements); a participant likewise as a
:class:`ParticipantRecord` and :func:`as_participant` (:func:`as_participants`). Removed
participants are kept for the record (``removed_at``) and are never part of the roster read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all, update

from meetsvc.domain.access import ListingScope
from meetsvc.domain.care_areas import CareArea as CareAreaEntry
from meetsvc.domain.model import (
    Identification,
    IdentityCheck,
    Invitation,
    Language,
    Meeting,
    MeetingStatus,
    Participant,
    ParticipantRole,
    ParticipantState,
)
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import (
    attendances,
    invitations,
    meeting_hosts,
    meetings,
    participant_identities,
    participants,
)

_active_participant = participants.c.removed_at.is_(None)


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    """A meeting's own row, without its hosts and roster."""

    id: str
    organisation_id: str
    partner_organisation_id: str
    title: str
    care_area: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: MeetingStatus
    sequence: int
    created_at: datetime
    updated_at: datetime
    booked_by: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A participant's own row; the personal number only as whether one is expected."""

    id: str
    meeting_id: str
    role: ParticipantRole
    organisation_id: str | None
    display_name: str
    email: str | None
    mobile: str | None
    language: Language
    expects_identity: bool
    state: ParticipantState
    created_at: datetime
    updated_at: datetime
    invited_by_organisation_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredPersonalNumber:
    """A personal identity number as stored: encrypted, and keyed-hashed for matching. Both
    ``None`` means no number."""

    encrypted: bytes | None
    keyed_hash: str | None


NO_PERSONAL_NUMBER = StoredPersonalNumber(None, None)


@dataclass(frozen=True, slots=True)
class NewMeetingRow:
    id: str
    organisation_id: str
    partner_organisation_id: str
    title: str
    care_area: str
    care_area_id: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: MeetingStatus
    created_at: datetime
    booked_by: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantFields:
    """What an organiser sets on a participant (a new one, or all of them again on a change)."""

    role: ParticipantRole
    display_name: str
    organisation_id: str | None
    email: str | None
    mobile: str | None
    language: Language


def _meeting_record(row: Any) -> MeetingRecord:
    return MeetingRecord(
        id=row.id,
        organisation_id=row.organisation_id,
        partner_organisation_id=row.partner_organisation_id,
        title=row.title,
        care_area=row.care_area,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        time_zone=row.time_zone,
        status=MeetingStatus(row.status),
        sequence=row.sequence,
        created_at=row.created_at,
        updated_at=row.updated_at,
        booked_by=row.booked_by,
    )


def _participant_record(row: Any) -> ParticipantRecord:
    return ParticipantRecord(
        id=row.id,
        meeting_id=row.meeting_id,
        role=ParticipantRole(row.role),
        organisation_id=row.organisation_id,
        display_name=row.display_name,
        email=row.email,
        mobile=row.mobile,
        language=Language(row.language),
        expects_identity=row.personal_number_hash is not None,
        state=ParticipantState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        invited_by_organisation_id=row.invited_by_organisation_id,
    )


# Meetings -------------------------------------------------------------------------------------


async def meeting(
    connection: Connection, meeting_id: str, *, organisation_id: str, lock: bool = False
) -> MeetingRecord | None:
    """A meeting ``organisation_id`` is party to (booking it or as the partner); ``lock`` holds
    its row until the transaction ends (PostgreSQL; SQLite's transactions take the write lock up
    front anyway)."""
    party = or_(meetings.c.organisation_id == organisation_id, meetings.c.partner_organisation_id == organisation_id)
    query = select(meetings).where(meetings.c.id == meeting_id, party)
    if lock:
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return _meeting_record(row) if row is not None else None


async def meetings_in_scope(
    connection: Connection,
    scope: ListingScope,
    *,
    status: MeetingStatus | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[MeetingRecord]:
    """A page of the meetings in ``scope`` by start time, optionally of one status and in a window:
    those its organisation books or is the partner in, and with a staff member in the scope only
    those they booked or lead."""
    organisation_id = scope.organisation_id
    conditions = [
        or_(meetings.c.organisation_id == organisation_id, meetings.c.partner_organisation_id == organisation_id)
    ]
    if scope.staff_id is not None:
        hosting = exists().where(
            meeting_hosts.c.meeting_id == meetings.c.id, meeting_hosts.c.staff_id == scope.staff_id
        )
        conditions.append(
            or_(
                and_(meetings.c.booked_by == f"staff:{scope.staff_id}", meetings.c.organisation_id == organisation_id),
                hosting,
            )
        )
    if status is not None:
        conditions.append(meetings.c.status == status.value)
    if starts_from is not None:
        conditions.append(meetings.c.starts_at >= starts_from)
    if starts_before is not None:
        conditions.append(meetings.c.starts_at < starts_before)
    rows = (
        await connection.execute(
            select(meetings)
            .where(and_(*conditions))
            .order_by(meetings.c.starts_at, meetings.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_meeting_record(row) for row in rows]


async def host_ids(connection: Connection, meeting_id: str) -> tuple[str, ...]:
    """The meeting's hosts in the order the organiser gave them."""
    found = (
        (
            await connection.execute(
                select(meeting_hosts.c.staff_id)
                .where(meeting_hosts.c.meeting_id == meeting_id)
                .order_by(meeting_hosts.c.position)
            )
        )
        .scalars()
        .all()
    )
    return tuple(found)


async def count_participants(connection: Connection, meeting_id: str) -> int:
    """How many participants the meeting has (removed ones do not count)."""
    count: int = (
        await connection.execute(
            select(func.count())
            .select_from(participants)
            .where(participants.c.meeting_id == meeting_id, _active_participant)
        )
    ).scalar_one()
    return count


async def as_meeting(connection: Connection, record: MeetingRecord) -> Meeting:
    """The domain's meeting for ``record``: with its hosts and how many participants it has."""
    return (await as_meetings(connection, [record]))[0]


async def as_meetings(connection: Connection, records: Sequence[MeetingRecord]) -> list[Meeting]:
    """The domain's meetings for ``records``, in their order, in two statements however many
    there are (all their hosts, then all their counts): a page of a list costs the same reads
    for one meeting as for a hundred."""
    if not records:
        return []
    ids = [record.id for record in records]
    hosts: dict[str, list[str]] = {meeting_id: [] for meeting_id in ids}
    for meeting_id, staff_id in (
        await connection.execute(
            select(meeting_hosts.c.meeting_id, meeting_hosts.c.staff_id)
            .where(meeting_hosts.c.meeting_id.in_(ids))
            .order_by(meeting_hosts.c.meeting_id, meeting_hosts.c.position)
        )
    ).all():
        hosts[meeting_id].append(staff_id)
    counts: dict[str, int] = {
        row[0]: row[1]
        for row in (
            await connection.execute(
                select(participants.c.meeting_id, func.count())
                .where(participants.c.meeting_id.in_(ids), _active_participant)
                .group_by(participants.c.meeting_id)
            )
        ).all()
    }
    return [
        Meeting(
            id=record.id,
            organisation_id=record.organisation_id,
            partner_organisation_id=record.partner_organisation_id,
            title=record.title,
            care_area=record.care_area,
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            time_zone=record.time_zone,
            status=record.status,
            host_ids=tuple(hosts[record.id]),
            sequence=record.sequence,
            created_at=record.created_at,
            updated_at=record.updated_at,
            participant_count=counts.get(record.id, 0),
            booked_by=record.booked_by,
        )
        for record in records
    ]


async def insert_meeting(connection: Connection, new: NewMeetingRow) -> None:
    await connection.execute(
        meetings.insert().values(
            id=new.id,
            organisation_id=new.organisation_id,
            partner_organisation_id=new.partner_organisation_id,
            title=new.title,
            care_area=new.care_area,
            care_area_id=new.care_area_id,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            time_zone=new.time_zone,
            status=new.status.value,
            sequence=0,
            created_at=new.created_at,
            updated_at=new.created_at,
            booked_by=new.booked_by,
        )
    )


async def insert_hosts(connection: Connection, meeting_id: str, staff_ids: tuple[str, ...]) -> None:
    """Record the hosts in the order given (a meeting always has at least one)."""
    await connection.execute(
        meeting_hosts.insert(),
        [{"meeting_id": meeting_id, "staff_id": staff_id, "position": i} for i, staff_id in enumerate(staff_ids)],
    )


async def replace_hosts(connection: Connection, meeting_id: str, staff_ids: tuple[str, ...]) -> None:
    await connection.execute(meeting_hosts.delete().where(meeting_hosts.c.meeting_id == meeting_id))
    await insert_hosts(connection, meeting_id, staff_ids)


async def update_meeting(
    connection: Connection,
    meeting_id: str,
    *,
    updated_at: datetime,
    title: str | None = None,
    care_area: CareAreaEntry | None = None,
) -> None:
    """Change the title and care area given (``None`` keeps what is there)."""
    values: dict[str, object] = {}
    if title is not None:
        values["title"] = title
    if care_area is not None:
        values["care_area"] = care_area.code
        values["care_area_id"] = care_area.id
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting_id).values(updated_at=updated_at, **values)
    )


async def move_meeting(
    connection: Connection, meeting_id: str, starts_at: datetime, ends_at: datetime, now: datetime
) -> None:
    """A new time is a new version of the meeting: its sequence goes up (calendar files and
    notices carry it)."""
    await connection.execute(
        update(meetings)
        .where(meetings.c.id == meeting_id)
        .values(starts_at=starts_at, ends_at=ends_at, sequence=meetings.c.sequence + 1, updated_at=now)
    )


async def raise_sequence(connection: Connection, meeting_id: str, now: datetime) -> None:
    """A calendar message to one participant (added, removed, a new link or address) is a new
    version of the meeting as their calendar sees it: RFC 5546 wants its SEQUENCE higher than
    anything that calendar holds, so the one counter every calendar file carries goes up."""
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting_id).values(sequence=meetings.c.sequence + 1, updated_at=now)
    )


async def cancel_meeting(connection: Connection, meeting_id: str, now: datetime) -> None:
    """Mark the meeting cancelled, as a new version of it."""
    await connection.execute(
        update(meetings)
        .where(meetings.c.id == meeting_id)
        .values(status=MeetingStatus.CANCELLED.value, sequence=meetings.c.sequence + 1, updated_at=now)
    )


# Participants ---------------------------------------------------------------------------------


async def participant(connection: Connection, meeting_id: str, participant_id: str) -> ParticipantRecord | None:
    """One of the meeting's participants, unless removed."""
    row = (
        await connection.execute(
            select(participants).where(
                participants.c.id == participant_id, participants.c.meeting_id == meeting_id, _active_participant
            )
        )
    ).first()
    return _participant_record(row) if row is not None else None


async def participants_of_meeting(connection: Connection, meeting_id: str) -> list[ParticipantRecord]:
    """The meeting's roster in the order they were added."""
    rows = (
        await connection.execute(
            select(participants)
            .where(participants.c.meeting_id == meeting_id, _active_participant)
            .order_by(participants.c.created_at, participants.c.id)
        )
    ).all()
    return [_participant_record(row) for row in rows]


async def as_participant(connection: Connection, record: ParticipantRecord) -> Participant:
    """The domain's participant for ``record``: with their latest invitation and when (if ever)
    they proved who they are."""
    return (await as_participants(connection, [record]))[0]


async def as_participants(connection: Connection, records: Sequence[ParticipantRecord]) -> list[Participant]:
    """The domain's participants for ``records``, in their order, in two statements however many
    there are (their invitations, then their identifications): a roster costs the same reads
    for one participant as for a hundred. A participant has a handful of invitations at most
    (each reissue revokes the one before), so reading them all and keeping the latest is cheap."""
    if not records:
        return []
    ids = [record.id for record in records]
    latest: dict[str, Any] = {}
    for row in (
        await connection.execute(
            select(invitations)
            .where(invitations.c.participant_id.in_(ids))
            .order_by(invitations.c.participant_id, invitations.c.created_at.desc(), invitations.c.id)
        )
    ).all():
        latest.setdefault(row.participant_id, row)
    # The verified identity lives on each entry (attendance): the API shows the entry that was
    # let in, else the latest one eID vouched for; the invitation's own record (its first
    # identification) only when no entry carries one. One statement for the whole roster.
    let_in = (ParticipantState.ADMITTED.value, ParticipantState.IN_MEETING.value)
    from_entries = select(
        attendances.c.participant_id,
        attendances.c.verified_at,
        attendances.c.matches_invitation,
        func.coalesce(attendances.c.provider, "bankid").label("provider"),
        func.coalesce(attendances.c.level_of_assurance, "loa3").label("level_of_assurance"),
        case((attendances.c.state.in_(let_in), 0), else_=1).label("rank"),
    ).where(
        attendances.c.participant_id.in_(ids),
        attendances.c.personal_number_hash.is_not(None),
        attendances.c.verified_at.is_not(None),
        attendances.c.unverified.is_(False),
    )
    from_invitation = select(
        participant_identities.c.participant_id,
        participant_identities.c.verified_at,
        participant_identities.c.matches_invitation,
        participant_identities.c.provider,
        participant_identities.c.level_of_assurance,
        literal(2).label("rank"),
    ).where(participant_identities.c.participant_id.in_(ids))
    both = union_all(from_entries, from_invitation).subquery()
    verified: dict[str, Any] = {}
    for row in (
        await connection.execute(select(both).order_by(both.c.participant_id, both.c.rank, both.c.verified_at.desc()))
    ).all():
        verified.setdefault(row.participant_id, row)
    return [_participant(record, latest.get(record.id), verified.get(record.id)) for record in records]


def _participant(record: ParticipantRecord, invitation: Any, verified: Any) -> Participant:
    identified_at = verified.verified_at if verified is not None else None
    return Participant(
        id=record.id,
        meeting_id=record.meeting_id,
        role=record.role,
        organisation_id=record.organisation_id,
        display_name=record.display_name,
        email=record.email,
        mobile=record.mobile,
        language=record.language,
        expects_identity=record.expects_identity,
        state=record.state,
        invitation=(
            Invitation(
                status="revoked" if invitation.revoked_at else "active",
                issued_at=invitation.created_at,
                opened_at=invitation.opened_at,
            )
            if invitation is not None
            else None
        ),
        created_at=record.created_at,
        updated_at=record.updated_at,
        identified_at=identified_at,
        invited_by_organisation_id=record.invited_by_organisation_id,
        identification=_identification(verified),
    )


def _identification(verified: Any) -> Identification:
    if verified is None:
        return Identification(IdentityCheck.NOT_IDENTIFIED)
    check = {
        True: IdentityCheck.MATCHING,
        False: IdentityCheck.NOT_MATCHING,
        None: IdentityCheck.NO_EXPECTATION,
    }[verified.matches_invitation]
    return Identification(check, verified.provider, verified.level_of_assurance, verified.verified_at)


async def insert_participant(
    connection: Connection,
    *,
    participant_id: str,
    meeting_id: str,
    fields: ParticipantFields,
    personal_number: StoredPersonalNumber,
    state: ParticipantState,
    now: datetime,
    invited_by_organisation_id: str | None = None,
) -> None:
    await connection.execute(
        participants.insert().values(
            id=participant_id,
            invited_by_organisation_id=invited_by_organisation_id,
            meeting_id=meeting_id,
            role=fields.role.value,
            organisation_id=fields.organisation_id,
            display_name=fields.display_name,
            email=fields.email,
            mobile=fields.mobile,
            language=fields.language.value,
            state=state.value,
            created_at=now,
            updated_at=now,
            personal_number_enc=personal_number.encrypted,
            personal_number_hash=personal_number.keyed_hash,
        )
    )


async def update_participant(
    connection: Connection,
    participant_id: str,
    fields: ParticipantFields,
    *,
    personal_number: StoredPersonalNumber | None,
    now: datetime,
) -> None:
    """Write all of ``fields``; the personal number only when given (``None`` keeps it)."""
    values: dict[str, object] = {
        "role": fields.role.value,
        "display_name": fields.display_name,
        "organisation_id": fields.organisation_id,
        "email": fields.email,
        "mobile": fields.mobile,
        "language": fields.language.value,
    }
    if personal_number is not None:
        values.update(personal_number_enc=personal_number.encrypted, personal_number_hash=personal_number.keyed_hash)
    await connection.execute(
        update(participants).where(participants.c.id == participant_id).values(updated_at=now, **values)
    )


async def mark_removed(connection: Connection, participant_id: str, now: datetime) -> None:
    await connection.execute(
        update(participants).where(participants.c.id == participant_id).values(removed_at=now, updated_at=now)
    )


# Invitations ----------------------------------------------------------------------------------


async def insert_invitation(
    connection: Connection, *, invitation_id: str, participant_id: str, token_hash: str, now: datetime
) -> None:
    await connection.execute(
        invitations.insert().values(
            id=invitation_id, participant_id=participant_id, token_hash=token_hash, created_at=now
        )
    )


async def revoke_invitations(connection: Connection, participant_id: str, now: datetime) -> int:
    """Revoke the participant's working invitation(s); answer how many there were."""
    result = await connection.execute(
        update(invitations)
        .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


async def revoke_meeting_invitations(connection: Connection, meeting_id: str, now: datetime) -> None:
    """Revoke every working invitation to the meeting, removed participants' included."""
    await connection.execute(
        update(invitations)
        .where(
            invitations.c.revoked_at.is_(None),
            invitations.c.participant_id.in_(select(participants.c.id).where(participants.c.meeting_id == meeting_id)),
        )
        .values(revoked_at=now)
    )


async def current_invitation_id(connection: Connection, participant_id: str) -> str | None:
    """The participant's working invitation, the newest if there were ever several."""
    found: str | None = (
        await connection.execute(
            select(invitations.c.id)
            .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
            .order_by(invitations.c.created_at.desc(), invitations.c.id)
            .limit(1)
        )
    ).scalar()
    return found
