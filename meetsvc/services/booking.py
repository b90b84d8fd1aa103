"""Booking SIP meetings: create, change, move and cancel them, and manage who is invited.

These are the operations behind the organiser API and the organiser pages. Each runs in one
transaction: it checks the caller against the meeting, applies the domain rules, writes the
change, its audit entry and the notices it causes (invitations, updates, cancellations in the
outbox) together, or changes nothing at all. After a commit ``on_change`` is told which meeting
changed, so the delivery loop and the schedule can act on it at once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meetsvc.services.audit import AuditLog
from meetsvc.services.directory import load_organisation, parse_personal_number
from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain import rules
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import MeetingClosed, NotFound, RuleViolation, TooManyParticipants, Violation
from meetsvc.domain.model import (
    CareArea,
    Invitation,
    Language,
    Meeting,
    MeetingStatus,
    Organisation,
    Participant,
    ParticipantRole,
    ParticipantState,
)
from meetsvc.services.links import JoinLinks
from meetsvc.notify import outbox
from meetsvc.notify.notices import MessageNotices
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.storage.tables import invitations, meeting_hosts, meetings, participant_identities, participants, staff_members
from meetsvc.core.tokens import token_hash

UNSET: object = object()


@dataclass(frozen=True, slots=True)
class BookingLimits:
    max_participants: int = 20
    min_duration: timedelta = timedelta(minutes=15)
    max_duration: timedelta = timedelta(hours=8)
    max_ahead: timedelta = timedelta(days=400)
    time_zone: str = "Europe/Stockholm"

    @property
    def schedule(self) -> rules.ScheduleLimits:
        return rules.ScheduleLimits(self.min_duration, self.max_duration, self.max_ahead)


@dataclass(frozen=True, slots=True)
class NewMeeting:
    partner_organisation_id: str
    title: str
    care_area: CareArea
    starts_at: datetime
    ends_at: datetime
    host_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MeetingChanges:
    """Only the fields given (not ``UNSET``) change."""

    title: object = UNSET
    care_area: object = UNSET
    host_ids: object = UNSET


@dataclass(frozen=True, slots=True)
class NewParticipant:
    role: ParticipantRole
    display_name: str
    organisation_id: str | None = None
    email: str | None = None
    mobile: str | None = None
    language: Language = Language.SV
    personal_number: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantChanges:
    display_name: object = UNSET
    role: object = UNSET
    organisation_id: object = UNSET
    email: object = UNSET
    mobile: object = UNSET
    language: object = UNSET
    personal_number: object = UNSET


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A participant with the one copy of their link token that will ever exist in clear."""

    participant: Participant
    token: str = field(repr=False)


def _meeting_from_row(row: Row, host_ids: tuple[str, ...], participant_count: int) -> Meeting:
    return Meeting(
        id=row.id,
        organisation_id=row.organisation_id,
        partner_organisation_id=row.partner_organisation_id,
        title=row.title,
        care_area=CareArea(row.care_area),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        time_zone=row.time_zone,
        status=MeetingStatus(row.status),
        host_ids=host_ids,
        sequence=row.sequence,
        created_at=row.created_at,
        updated_at=row.updated_at,
        participant_count=participant_count,
    )


def _participant_from_row(row: Row, invitation: Row | None, identified_at: datetime | None = None) -> Participant:
    return Participant(
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
        invitation=(
            Invitation(
                status="revoked" if invitation.revoked_at else "active",
                issued_at=invitation.created_at,
                opened_at=invitation.opened_at,
            )
            if invitation is not None
            else None
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        identified_at=identified_at,
    )


_active_participant = participants.c.removed_at.is_(None)


class Booking:
    def __init__(
        self,
        engine: AsyncEngine,
        audit: AuditLog,
        vault: PersonalNumberVault,
        limits: BookingLimits = BookingLimits(),
        clock: Clock = utc_now,
        *,
        links: JoinLinks | None = None,
        notices: MessageNotices | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._vault = vault
        self._limits = limits
        self._clock = clock
        self._links = links or JoinLinks.ephemeral()
        self._notices = notices
        self._on_change = on_change or (lambda meeting_id: None)

    def now(self) -> datetime:
        return self._clock()

    # Loading ---------------------------------------------------------------------------------

    async def _meeting_row(
        self, connection: AsyncConnection, caller: OrganisationCaller, meeting_id: str, *, lock: bool = False
    ) -> Row:
        query = select(meetings).where(meetings.c.id == meeting_id, meetings.c.organisation_id == caller.organisation_id)
        if lock:
            query = query.with_for_update()
        row = (await connection.execute(query)).first()
        if row is None:
            raise NotFound("no such meeting")
        return row

    async def _load_meeting(self, connection: AsyncConnection, row: Row) -> Meeting:
        hosts = (
            await connection.execute(
                select(meeting_hosts.c.staff_id).where(meeting_hosts.c.meeting_id == row.id).order_by(meeting_hosts.c.position)
            )
        ).scalars().all()
        count = (
            await connection.execute(
                select(func.count()).select_from(participants).where(participants.c.meeting_id == row.id, _active_participant)
            )
        ).scalar_one()
        return _meeting_from_row(row, tuple(hosts), count)

    async def _meeting_organisations(self, connection: AsyncConnection, row: Row) -> dict[str, Organisation]:
        found = {}
        for organisation_id in (row.organisation_id, row.partner_organisation_id):
            organisation = await load_organisation(connection, organisation_id)
            if organisation is not None:
                found[organisation.id] = organisation
        return found

    async def _check_hosts(
        self, connection: AsyncConnection, host_ids: tuple[str, ...], organisation_ids: set[str]
    ) -> list[Violation]:
        if not host_ids:
            return [Violation("/host_ids", "min_items", "a meeting needs at least one host")]
        if len(set(host_ids)) != len(host_ids):
            return [Violation("/host_ids", "unique", "a host is listed twice")]
        rows = (
            await connection.execute(
                select(staff_members.c.id, staff_members.c.organisation_id, staff_members.c.can_organise).where(
                    staff_members.c.id.in_(host_ids)
                )
            )
        ).all()
        known = {row.id: row for row in rows}
        violations = []
        for index, host_id in enumerate(host_ids):
            row = known.get(host_id)
            if row is None or row.organisation_id not in organisation_ids:
                violations.append(Violation(f"/host_ids/{index}", "staff_member", "is not a staff member of the meeting's organisations"))
            elif not row.can_organise:
                violations.append(Violation(f"/host_ids/{index}", "can_organise", "this staff member may not lead meetings"))
        return violations

    @staticmethod
    def _ensure_open(row: Row) -> None:
        if not MeetingStatus(row.status).is_open:
            raise MeetingClosed()

    # Notices ---------------------------------------------------------------------------------

    async def _organisation_name(self, connection: AsyncConnection, meeting_row: Row) -> str:
        organisation = await load_organisation(connection, meeting_row.organisation_id)
        return organisation.name if organisation is not None else ""

    async def _invite(
        self, connection: AsyncConnection, meeting_row: Row, participant_row: Row, invitation_id: str,
        revision: str | None = None,
    ) -> None:
        if self._notices is None:
            return
        await self._notices.enqueue_invitation(
            connection, meeting_row, participant_row, self._links.url(invitation_id),
            await self._organisation_name(connection, meeting_row),
            # Reminders are the schedule's: recorded when they fall due, for who is invited then.
            reminders=False, revision=revision,
        )

    async def _announce_move(self, connection: AsyncConnection, meeting_row: Row) -> None:
        if self._notices is None:
            return
        name = await self._organisation_name(connection, meeting_row)
        for participant_row in await self._active_participant_rows(connection, meeting_row.id):
            link = await self._links.current(connection, participant_row.id)
            if link is not None:
                await self._notices.enqueue_update(connection, meeting_row, participant_row, link, name, reminders=False)

    async def _announce_cancellation(self, connection: AsyncConnection, meeting_row: Row, participant_rows: list[Row]) -> None:
        if self._notices is None:
            return
        name = await self._organisation_name(connection, meeting_row)
        for participant_row in participant_rows:
            await self._notices.enqueue_cancellation(connection, meeting_row, participant_row, name)

    async def _active_participant_rows(self, connection: AsyncConnection, meeting_id: str) -> list[Row]:
        return list(
            (
                await connection.execute(
                    select(participants)
                    .where(participants.c.meeting_id == meeting_id, _active_participant)
                    .order_by(participants.c.created_at, participants.c.id)
                )
            ).all()
        )

    def _changed(self, meeting_id: str) -> None:
        self._on_change(meeting_id)

    # Meetings --------------------------------------------------------------------------------

    async def create_meeting(self, caller: OrganisationCaller, new: NewMeeting) -> Meeting:
        now = self._clock()
        violations = rules.check_title(new.title)
        violations += rules.check_schedule(new.starts_at, new.ends_at, now=now, limits=self._limits.schedule)
        meeting_id = str(uuid.uuid4())
        async with self._engine.begin() as connection:
            owner = await load_organisation(connection, caller.organisation_id)
            if owner is None:
                raise NotFound("the caller's organisation no longer exists")
            partner = await load_organisation(connection, new.partner_organisation_id)
            violations += rules.check_partner(owner, partner)
            violations += await self._check_hosts(connection, new.host_ids, {owner.id, new.partner_organisation_id})
            if violations:
                raise RuleViolation(violations)
            await connection.execute(
                meetings.insert().values(
                    id=meeting_id,
                    organisation_id=owner.id,
                    partner_organisation_id=new.partner_organisation_id,
                    title=new.title.strip(),
                    care_area=new.care_area.value,
                    starts_at=new.starts_at,
                    ends_at=new.ends_at,
                    time_zone=self._limits.time_zone,
                    status=MeetingStatus.SCHEDULED.value,
                    sequence=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            await connection.execute(
                meeting_hosts.insert(),
                [{"meeting_id": meeting_id, "staff_id": host, "position": i} for i, host in enumerate(new.host_ids)],
            )
            await self._audit.append(
                connection, actor=caller.actor, action="meeting.created", subject_type="meeting",
                subject_id=meeting_id, meeting_id=meeting_id,
                details={"hosts": list(new.host_ids), "partner_organisation_id": new.partner_organisation_id},
            )
            meeting = await self._load_meeting(connection, await self._meeting_row(connection, caller, meeting_id))
        self._changed(meeting_id)
        return meeting

    async def get_meeting(self, caller: OrganisationCaller, meeting_id: str) -> Meeting:
        async with self._engine.connect() as connection:
            return await self._load_meeting(connection, await self._meeting_row(connection, caller, meeting_id))

    async def list_meetings(
        self,
        caller: OrganisationCaller,
        *,
        status: MeetingStatus | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Meeting]:
        conditions = [meetings.c.organisation_id == caller.organisation_id]
        if status is not None:
            conditions.append(meetings.c.status == status.value)
        if starts_from is not None:
            conditions.append(meetings.c.starts_at >= starts_from)
        if starts_before is not None:
            conditions.append(meetings.c.starts_at < starts_before)
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(meetings).where(and_(*conditions)).order_by(meetings.c.starts_at, meetings.c.id).limit(limit).offset(offset)
                )
            ).all()
            return [await self._load_meeting(connection, row) for row in rows]

    async def update_meeting(self, caller: OrganisationCaller, meeting_id: str, changes: MeetingChanges) -> Meeting:
        async with self._engine.begin() as connection:
            row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(row)
            values: dict[str, object] = {}
            violations: list[Violation] = []
            if isinstance(changes.title, str):
                violations += rules.check_title(changes.title)
                values["title"] = changes.title.strip()
            elif changes.title is not UNSET:
                violations.append(Violation("/title", "type", "must be a string"))
            if isinstance(changes.care_area, CareArea):
                values["care_area"] = changes.care_area.value
            elif changes.care_area is not UNSET:
                violations.append(Violation("/care_area", "type", "must be a care area"))
            host_ids: tuple[str, ...] | None = None
            if isinstance(changes.host_ids, (list, tuple)):
                host_ids = tuple(changes.host_ids)
                violations += await self._check_hosts(
                    connection, host_ids, {row.organisation_id, row.partner_organisation_id}
                )
            elif changes.host_ids is not UNSET:
                violations.append(Violation("/host_ids", "type", "must be a list of staff ids"))
            if violations:
                raise RuleViolation(violations)
            changed = sorted(values) + (["host_ids"] if host_ids is not None else [])
            if changed:
                await connection.execute(
                    update(meetings).where(meetings.c.id == meeting_id).values(updated_at=self._clock(), **values)
                )
                if host_ids is not None:
                    await connection.execute(meeting_hosts.delete().where(meeting_hosts.c.meeting_id == meeting_id))
                    await connection.execute(
                        meeting_hosts.insert(),
                        [{"meeting_id": meeting_id, "staff_id": h, "position": i} for i, h in enumerate(host_ids)],
                    )
                await self._audit.append(
                    connection, actor=caller.actor, action="meeting.updated", subject_type="meeting",
                    subject_id=meeting_id, meeting_id=meeting_id, details={"fields": changed},
                )
            return await self._load_meeting(connection, await self._meeting_row(connection, caller, meeting_id))

    async def reschedule(self, caller: OrganisationCaller, meeting_id: str, starts_at: datetime, ends_at: datetime) -> Meeting:
        now = self._clock()
        violations = rules.check_schedule(starts_at, ends_at, now=now, limits=self._limits.schedule)
        async with self._engine.begin() as connection:
            row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            if row.status != MeetingStatus.SCHEDULED.value:
                raise MeetingClosed("only a meeting that has not started can be moved")
            if violations:
                raise RuleViolation(violations)
            await connection.execute(
                update(meetings)
                .where(meetings.c.id == meeting_id)
                .values(starts_at=starts_at, ends_at=ends_at, sequence=meetings.c.sequence + 1, updated_at=now)
            )
            await self._audit.append(
                connection, actor=caller.actor, action="meeting.rescheduled", subject_type="meeting",
                subject_id=meeting_id, meeting_id=meeting_id,
                details={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            )
            moved = await self._meeting_row(connection, caller, meeting_id)
            await self._announce_move(connection, moved)
            meeting = await self._load_meeting(connection, moved)
        self._changed(meeting_id)
        return meeting

    async def cancel(self, caller: OrganisationCaller, meeting_id: str) -> Meeting:
        now = self._clock()
        async with self._engine.begin() as connection:
            row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(row)
            invited = await self._active_participant_rows(connection, meeting_id)
            await connection.execute(
                update(meetings)
                .where(meetings.c.id == meeting_id)
                .values(status=MeetingStatus.CANCELLED.value, sequence=meetings.c.sequence + 1, updated_at=now)
            )
            # A cancelled meeting's links must stop working at once.
            await connection.execute(
                update(invitations)
                .where(
                    invitations.c.revoked_at.is_(None),
                    invitations.c.participant_id.in_(select(participants.c.id).where(participants.c.meeting_id == meeting_id)),
                )
                .values(revoked_at=now)
            )
            await self._audit.append(
                connection, actor=caller.actor, action="meeting.cancelled", subject_type="meeting",
                subject_id=meeting_id, meeting_id=meeting_id,
            )
            cancelled = await self._meeting_row(connection, caller, meeting_id)
            await self._announce_cancellation(connection, cancelled, invited)
            meeting = await self._load_meeting(connection, cancelled)
        self._changed(meeting_id)
        return meeting

    # Participants ----------------------------------------------------------------------------

    async def _participant_row(self, connection: AsyncConnection, meeting_id: str, participant_id: str) -> Row:
        row = (
            await connection.execute(
                select(participants).where(
                    participants.c.id == participant_id, participants.c.meeting_id == meeting_id, _active_participant
                )
            )
        ).first()
        if row is None:
            raise NotFound("no such participant")
        return row

    async def _load_participant(self, connection: AsyncConnection, row: Row) -> Participant:
        invitation = (
            await connection.execute(
                select(invitations)
                .where(invitations.c.participant_id == row.id)
                .order_by(invitations.c.created_at.desc(), invitations.c.id)
                .limit(1)
            )
        ).first()
        identified_at = (
            await connection.execute(
                select(participant_identities.c.verified_at).where(participant_identities.c.participant_id == row.id)
            )
        ).scalar()
        return _participant_from_row(row, invitation, identified_at)

    async def _issue_token(self, connection: AsyncConnection, participant_id: str, now: datetime) -> tuple[str, str]:
        """A new invitation (revoking any earlier one): its id and its link token."""
        await connection.execute(
            update(invitations)
            .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        invitation_id = str(uuid.uuid4())
        token = self._links.token(invitation_id)
        await connection.execute(
            invitations.insert().values(
                id=invitation_id, participant_id=participant_id, token_hash=token_hash(token), created_at=now
            )
        )
        return invitation_id, token

    def _personal_number_columns(self, text: str | None) -> dict[str, object]:
        if text is None:
            return {"personal_number_enc": None, "personal_number_hash": None}
        number = parse_personal_number("/personal_number", text)
        return {
            "personal_number_enc": self._vault.encrypt(number.normal, "participant"),
            "personal_number_hash": self._vault.keyed_hash(number.normal),
        }

    def _check_participant_fields(self, new: NewParticipant) -> list[Violation]:
        violations = rules.check_text("/display_name", new.display_name, max_length=200)
        violations += rules.check_contact(new.email, new.mobile)
        return violations

    async def add_participant(self, caller: OrganisationCaller, meeting_id: str, new: NewParticipant) -> IssuedInvitation:
        now = self._clock()
        violations = self._check_participant_fields(new)
        try:
            pn_columns = self._personal_number_columns(new.personal_number)
        except RuleViolation as exc:
            violations += exc.violations
            pn_columns = {}
        participant_id = str(uuid.uuid4())
        async with self._engine.begin() as connection:
            row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(row)
            organisations_of_meeting = await self._meeting_organisations(connection, row)
            organisation = organisations_of_meeting.get(new.organisation_id) if new.organisation_id else None
            if new.organisation_id and organisation is None:
                organisation = await load_organisation(connection, new.organisation_id)
                if organisation is None:
                    violations.append(Violation("/organisation_id", "exists", "no such organisation"))
            if not any(v.field == "/organisation_id" for v in violations):
                violations += rules.check_participant_organisation(new.role, organisation, organisations_of_meeting)
            if violations:
                raise RuleViolation(violations)
            count = (
                await connection.execute(
                    select(func.count()).select_from(participants).where(participants.c.meeting_id == meeting_id, _active_participant)
                )
            ).scalar_one()
            if count >= self._limits.max_participants:
                raise TooManyParticipants(f"a meeting can have at most {self._limits.max_participants} participants")
            await connection.execute(
                participants.insert().values(
                    id=participant_id,
                    meeting_id=meeting_id,
                    role=new.role.value,
                    organisation_id=new.organisation_id,
                    display_name=new.display_name.strip(),
                    email=new.email,
                    mobile=rules.normalise_mobile(new.mobile) if new.mobile else None,
                    language=new.language.value,
                    state=ParticipantState.INVITED.value,
                    created_at=now,
                    updated_at=now,
                    **pn_columns,
                )
            )
            invitation_id, token = await self._issue_token(connection, participant_id, now)
            await self._audit.append(
                connection, actor=caller.actor, action="participant.added", subject_type="participant",
                subject_id=participant_id, meeting_id=meeting_id,
                details={"role": new.role.value, "expects_identity": new.personal_number is not None},
            )
            participant_row = await self._participant_row(connection, meeting_id, participant_id)
            await self._invite(connection, row, participant_row, invitation_id)
            participant = await self._load_participant(connection, participant_row)
        self._changed(meeting_id)
        return IssuedInvitation(participant, token)

    async def list_participants(self, caller: OrganisationCaller, meeting_id: str) -> list[Participant]:
        async with self._engine.connect() as connection:
            await self._meeting_row(connection, caller, meeting_id)
            rows = (
                await connection.execute(
                    select(participants)
                    .where(participants.c.meeting_id == meeting_id, _active_participant)
                    .order_by(participants.c.created_at, participants.c.id)
                )
            ).all()
            return [await self._load_participant(connection, row) for row in rows]

    async def get_participant(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> Participant:
        async with self._engine.connect() as connection:
            await self._meeting_row(connection, caller, meeting_id)
            return await self._load_participant(connection, await self._participant_row(connection, meeting_id, participant_id))

    async def update_participant(
        self, caller: OrganisationCaller, meeting_id: str, participant_id: str, changes: ParticipantChanges
    ) -> Participant:
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            row = await self._participant_row(connection, meeting_id, participant_id)
            merged = NewParticipant(
                role=row.role if changes.role is UNSET else changes.role,  # type: ignore[arg-type]
                display_name=row.display_name if changes.display_name is UNSET else changes.display_name,  # type: ignore[arg-type]
                organisation_id=row.organisation_id if changes.organisation_id is UNSET else changes.organisation_id,  # type: ignore[arg-type]
                email=row.email if changes.email is UNSET else changes.email,  # type: ignore[arg-type]
                mobile=row.mobile if changes.mobile is UNSET else changes.mobile,  # type: ignore[arg-type]
                language=Language(row.language) if changes.language is UNSET else changes.language,  # type: ignore[arg-type]
            )
            role = ParticipantRole(merged.role)
            violations = self._check_participant_fields(merged)
            organisations_of_meeting = await self._meeting_organisations(connection, meeting_row)
            organisation = None
            if merged.organisation_id:
                organisation = organisations_of_meeting.get(merged.organisation_id) or await load_organisation(
                    connection, merged.organisation_id
                )
                if organisation is None:
                    violations.append(Violation("/organisation_id", "exists", "no such organisation"))
            if not any(v.field == "/organisation_id" for v in violations):
                violations += rules.check_participant_organisation(role, organisation, organisations_of_meeting)
            if violations:
                raise RuleViolation(violations)
            values: dict[str, object] = {
                "role": role.value,
                "display_name": merged.display_name.strip(),
                "organisation_id": merged.organisation_id,
                "email": merged.email,
                "mobile": rules.normalise_mobile(merged.mobile) if merged.mobile else None,
                "language": Language(merged.language).value,
            }
            if changes.personal_number is not UNSET:
                values.update(self._personal_number_columns(changes.personal_number))  # type: ignore[arg-type]
            fields = sorted(name for name in ParticipantChanges.__dataclass_fields__ if getattr(changes, name) is not UNSET)
            if fields:
                await connection.execute(
                    update(participants).where(participants.c.id == participant_id).values(updated_at=now, **values)
                )
                await self._audit.append(
                    connection, actor=caller.actor, action="participant.updated", subject_type="participant",
                    subject_id=participant_id, meeting_id=meeting_id, details={"fields": fields},
                )
            updated = await self._participant_row(connection, meeting_id, participant_id)
            if (updated.email, updated.mobile) != (row.email, row.mobile):
                # A new address gets the invitation (the same link); one no longer used gets nothing more.
                await self._resend_invitation(connection, meeting_row, updated)
            participant = await self._load_participant(connection, updated)
        self._changed(meeting_id)
        return participant

    async def _resend_invitation(self, connection: AsyncConnection, meeting_row: Row, participant_row: Row) -> None:
        invitation_id = (
            await connection.execute(
                select(invitations.c.id)
                .where(invitations.c.participant_id == participant_row.id, invitations.c.revoked_at.is_(None))
                .order_by(invitations.c.created_at.desc(), invitations.c.id)
                .limit(1)
            )
        ).scalar()
        if invitation_id is None:
            return
        contact = f"{participant_row.email or ''}|{participant_row.mobile or ''}"
        revision = hashlib.sha256(contact.encode()).hexdigest()[:12]
        await self._invite(connection, meeting_row, participant_row, invitation_id, revision)

    async def remove_participant(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> None:
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            removed = await self._participant_row(connection, meeting_id, participant_id)
            await connection.execute(
                update(participants).where(participants.c.id == participant_id).values(removed_at=now, updated_at=now)
            )
            await connection.execute(
                update(invitations)
                .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await self._audit.append(
                connection, actor=caller.actor, action="participant.removed", subject_type="participant",
                subject_id=participant_id, meeting_id=meeting_id,
            )
            await self._announce_cancellation(connection, meeting_row, [removed])
        self._changed(meeting_id)

    async def reissue_invitation(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> IssuedInvitation:
        """A new link; the old one stops working at once (e.g. it was sent to the wrong person)."""
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row = await self._meeting_row(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            row = await self._participant_row(connection, meeting_id, participant_id)
            invitation_id, token = await self._issue_token(connection, participant_id, now)
            await self._audit.append(
                connection, actor=caller.actor, action="invitation.reissued", subject_type="participant",
                subject_id=participant_id, meeting_id=meeting_id,
            )
            await self._invite(connection, meeting_row, row, invitation_id, revision=invitation_id[:12])
            issued = IssuedInvitation(await self._load_participant(connection, row), token)
        self._changed(meeting_id)
        return issued

    async def revoke_invitation(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> Participant:
        now = self._clock()
        async with self._engine.begin() as connection:
            await self._meeting_row(connection, caller, meeting_id, lock=True)
            row = await self._participant_row(connection, meeting_id, participant_id)
            result = await connection.execute(
                update(invitations)
                .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if result.rowcount:
                await self._audit.append(
                    connection, actor=caller.actor, action="invitation.revoked", subject_type="participant",
                    subject_id=participant_id, meeting_id=meeting_id,
                )
                # Messages still waiting carry the dead link: they would only confuse.
                await outbox.cancel_pending(connection, reason="link revoked", participant_id=participant_id)
            return await self._load_participant(connection, row)
