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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.tokens import token_hash
from meetsvc.domain import access, rules
from meetsvc.domain.access import MeetingParties, Side
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.care_areas import CareArea as CareAreaEntry
from meetsvc.domain.errors import (
    Forbidden,
    MeetingClosed,
    NotFound,
    RuleViolation,
    TooManyParticipants,
    Violation,
)
from meetsvc.domain.messages import ChannelName, MessageKind
from meetsvc.domain.model import (
    Language,
    Meeting,
    MeetingStatus,
    Organisation,
    Participant,
    ParticipantRole,
    ParticipantState,
)
from meetsvc.domain.roles import Role
from meetsvc.notify import outbox
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.status import DeliveryLine, deliveries_by_participant
from meetsvc.services.audit import AuditLog
from meetsvc.services.directory import load_organisation, parse_personal_number
from meetsvc.services.links import JoinLinks
from meetsvc.services.statistics import StatisticsRecorder
from meetsvc.services.waiting_room import (
    LINK_REISSUED,
    LINK_REVOKED,
    MEETING_CANCELLED,
    PARTICIPANT_REMOVED,
    Notices,
    WaitingRoom,
)
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import care_areas as care_area_queries, meetings as queries, organisations
from meetsvc.storage.queries.meetings import MeetingRecord, ParticipantRecord, StoredPersonalNumber

UNSET: object = object()

_NO_SUCH_AREA = Violation("/care_area", "care_area", "not one of the organisation's active areas of care")


async def _active_area(connection: Connection, organisation_id: str, code: str) -> CareAreaEntry | None:
    """The organisation's area of care with this code, if it may be used for a meeting now."""
    area = await care_area_queries.by_code(connection, organisation_id, code)
    return area if area is not None and area.active else None


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
    #: The code of one of the convening organisation's active areas of care.
    care_area: str
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


class Booking:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        vault: PersonalNumberVault,
        limits: BookingLimits = BookingLimits(),
        clock: Clock = utc_now,
        *,
        links: JoinLinks | None = None,
        notices: MessageNotices | None = None,
        on_change: Callable[[str], None] | None = None,
        statistics: StatisticsRecorder | None = None,
        entries_ended: Callable[[Notices], Awaitable[None]] | None = None,
    ) -> None:
        self._statistics = statistics
        self._engine = engine
        # Revoking or reissuing a link, removing a participant or cancelling the meeting ends
        # every browser session and entry that hung on it; ``entries_ended`` closes their sockets.
        self._room = WaitingRoom(engine, audit, clock=clock)
        self._entries_ended = entries_ended
        self._audit = audit
        self._vault = vault
        self._limits = limits
        self._clock = clock
        self._links = links or JoinLinks.ephemeral()
        self._notices = notices
        self._on_change = on_change or (lambda meeting_id: None)

    def now(self) -> datetime:
        return self._clock()

    async def _end_entries(
        self, connection: Connection, meeting_id: str, participant_id: str | None, reason: str
    ) -> Notices:
        return await self._room.end_entries_in(connection, meeting_id, participant_id, reason)

    async def _tell(self, notices: Notices) -> None:
        """After the commit: close the sockets of the entries that ended (never undoes the change)."""
        if self._entries_ended is not None and notices.ended:
            await self._entries_ended(notices)

    # Loading ---------------------------------------------------------------------------------

    async def _meeting_row(
        self, connection: Connection, caller: OrganisationCaller, meeting_id: str, *, lock: bool = False
    ) -> MeetingRecord:
        return (await self._access(connection, caller, meeting_id, lock=lock))[0]

    async def _access(
        self, connection: Connection, caller: OrganisationCaller, meeting_id: str, *, lock: bool = False
    ) -> tuple[MeetingRecord, Side]:
        """The meeting and the side the caller acts on (:mod:`meetsvc.domain.access`); a meeting
        the caller may not reach is answered as one that does not exist."""
        row = await queries.meeting(connection, meeting_id, organisation_id=caller.organisation_id, lock=lock)
        if row is None:
            raise NotFound("no such meeting")
        parties = MeetingParties(
            row.organisation_id, row.partner_organisation_id, row.booked_by, await queries.host_ids(connection, row.id)
        )
        side = access.side_of(caller, parties)
        if side is None:
            raise NotFound("no such meeting")
        return row, side

    @staticmethod
    def _booking_side_only(side: Side, what: str) -> None:
        if not access.may_change_meeting(side):
            raise Forbidden(f"{what} stays with the organisation that booked the meeting")

    async def _managed_participant(
        self, connection: Connection, caller: OrganisationCaller, side: Side, meeting_id: str, participant_id: str
    ) -> ParticipantRecord:
        row = await self._participant_row(connection, meeting_id, participant_id)
        if not access.may_manage_participant(side, row.invited_by_organisation_id, caller.organisation_id):
            raise Forbidden("this participant was invited by the other organisation, which manages them")
        return row

    async def _load_meeting(self, connection: Connection, row: MeetingRecord) -> Meeting:
        return await queries.as_meeting(connection, row)

    async def _meeting_organisations(self, connection: Connection, row: MeetingRecord) -> dict[str, Organisation]:
        found = {}
        for organisation_id in (row.organisation_id, row.partner_organisation_id):
            organisation = await load_organisation(connection, organisation_id)
            if organisation is not None:
                found[organisation.id] = organisation
        return found

    async def _check_hosts(
        self, connection: Connection, host_ids: tuple[str, ...], organisation_ids: set[str]
    ) -> list[Violation]:
        if not host_ids:
            return [Violation("/host_ids", "min_items", "a meeting needs at least one host")]
        if len(set(host_ids)) != len(host_ids):
            return [Violation("/host_ids", "unique", "a host is listed twice")]
        known = await organisations.staff_members_by_id(connection, host_ids)
        violations = []
        for index, host_id in enumerate(host_ids):
            row = known.get(host_id)
            if row is None or row.organisation_id not in organisation_ids:
                violations.append(
                    Violation(
                        f"/host_ids/{index}", "staff_member", "is not a staff member of the meeting's organisations"
                    )
                )
            elif not row.can_organise or not row.active:
                violations.append(
                    Violation(f"/host_ids/{index}", "can_organise", "this staff member may not lead meetings")
                )
        return violations

    async def _next_version(
        self, connection: Connection, caller: OrganisationCaller, meeting_id: str, now: datetime
    ) -> MeetingRecord:
        """The meeting with its sequence raised, before a calendar message to one participant:
        each calendar file someone receives about a meeting must carry a higher SEQUENCE than
        the last (RFC 5546), also a re-invitation after a cancellation, or the calendar ignores it."""
        await queries.raise_sequence(connection, meeting_id, now)
        return await self._meeting_row(connection, caller, meeting_id)

    @staticmethod
    def _ensure_open(row: MeetingRecord) -> None:
        if not row.status.is_open:
            raise MeetingClosed()

    # Notices ---------------------------------------------------------------------------------

    async def _organisation_name(self, connection: Connection, meeting_row: MeetingRecord) -> Organisation | str:
        """The convening organisation, whose name staff see and whose public name citizens see."""
        organisation = await load_organisation(connection, meeting_row.organisation_id)
        return organisation if organisation is not None else ""

    async def _invite(
        self,
        connection: Connection,
        meeting_row: MeetingRecord,
        participant_row: ParticipantRecord,
        invitation_id: str,
        revision: str | None = None,
        only: frozenset[ChannelName] | None = None,
    ) -> None:
        if self._notices is None:
            return
        await self._notices.enqueue_invitation(
            connection,
            meeting_row,
            participant_row,
            self._links.url(invitation_id),
            await self._organisation_name(connection, meeting_row),
            # Reminders are the schedule's: recorded when they fall due, for who is invited then.
            reminders=False,
            revision=revision,
            only=only,
        )

    async def _announce_move(self, connection: Connection, meeting_row: MeetingRecord) -> None:
        if self._notices is None:
            return
        name = await self._organisation_name(connection, meeting_row)
        for participant_row in await self._active_participant_rows(connection, meeting_row.id):
            link = await self._links.current(connection, participant_row.id)
            if link is not None:
                await self._notices.enqueue_update(
                    connection, meeting_row, participant_row, link, name, reminders=False
                )

    async def _announce_cancellation(
        self, connection: Connection, meeting_row: MeetingRecord, participant_rows: list[ParticipantRecord]
    ) -> None:
        if self._notices is None:
            return
        name = await self._organisation_name(connection, meeting_row)
        for participant_row in participant_rows:
            await self._notices.enqueue_cancellation(connection, meeting_row, participant_row, name)

    async def _active_participant_rows(self, connection: Connection, meeting_id: str) -> list[ParticipantRecord]:
        return await queries.participants_of_meeting(connection, meeting_id)

    def _changed(self, meeting_id: str) -> None:
        self._on_change(meeting_id)

    # Meetings --------------------------------------------------------------------------------

    async def create_meeting(self, caller: OrganisationCaller, new: NewMeeting) -> Meeting:
        if not caller.is_api_client and Role.ORGANISER not in caller.roles:
            raise Forbidden("only an organiser may book meetings")
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
            area = await _active_area(connection, owner.id, new.care_area)
            violations += [] if area is not None else [_NO_SUCH_AREA]
            if violations or area is None:
                raise RuleViolation(violations)
            await queries.insert_meeting(
                connection,
                queries.NewMeetingRow(
                    id=meeting_id,
                    organisation_id=owner.id,
                    partner_organisation_id=new.partner_organisation_id,
                    title=new.title.strip(),
                    care_area=area.code,
                    care_area_id=area.id,
                    starts_at=new.starts_at,
                    ends_at=new.ends_at,
                    time_zone=self._limits.time_zone,
                    status=MeetingStatus.SCHEDULED,
                    created_at=now,
                    booked_by=caller.actor,
                ),
            )
            await queries.insert_hosts(connection, meeting_id, new.host_ids)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="meeting.created",
                subject_type="meeting",
                subject_id=meeting_id,
                meeting_id=meeting_id,
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
        async with self._engine.connect() as connection:
            rows = await queries.meetings_in_scope(
                connection,
                access.listing_scope(caller),
                status=status,
                starts_from=starts_from,
                starts_before=starts_before,
                limit=limit,
                offset=offset,
            )
            return await queries.as_meetings(connection, rows)

    async def update_meeting(self, caller: OrganisationCaller, meeting_id: str, changes: MeetingChanges) -> Meeting:
        async with self._engine.begin() as connection:
            row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._ensure_open(row)
            if changes.title is not UNSET or changes.care_area is not UNSET:
                self._booking_side_only(side, "the title and area of care")
            title: str | None = None
            care_area: CareAreaEntry | None = None
            violations: list[Violation] = []
            if isinstance(changes.title, str):
                violations += rules.check_title(changes.title)
                title = changes.title.strip()
            elif changes.title is not UNSET:
                violations.append(Violation("/title", "type", "must be a string"))
            if isinstance(changes.care_area, str) and changes.care_area == row.care_area:
                pass  # the area it has, even if retired since
            elif isinstance(changes.care_area, str):
                care_area = await _active_area(connection, row.organisation_id, changes.care_area)
                violations += [] if care_area is not None else [_NO_SUCH_AREA]
            elif changes.care_area is not UNSET:
                violations.append(Violation("/care_area", "type", "must be a care area"))
            host_ids: tuple[str, ...] | None = None
            if isinstance(changes.host_ids, (list, tuple)):
                host_ids = tuple(changes.host_ids)
                violations += await self._check_hosts(
                    connection, host_ids, {row.organisation_id, row.partner_organisation_id}
                )
                if not violations:
                    await self._check_host_change(connection, caller, side, row.id, host_ids)
            elif changes.host_ids is not UNSET:
                violations.append(Violation("/host_ids", "type", "must be a list of staff ids"))
            if violations:
                raise RuleViolation(violations)
            changed = sorted(name for name, value in (("title", title), ("care_area", care_area)) if value is not None)
            changed += ["host_ids"] if host_ids is not None else []
            if changed:
                await queries.update_meeting(
                    connection, meeting_id, updated_at=self._clock(), title=title, care_area=care_area
                )
                if host_ids is not None:
                    await queries.replace_hosts(connection, meeting_id, host_ids)
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="meeting.updated",
                    subject_type="meeting",
                    subject_id=meeting_id,
                    meeting_id=meeting_id,
                    details={"fields": changed},
                )
            return await self._load_meeting(connection, await self._meeting_row(connection, caller, meeting_id))

    async def _check_host_change(
        self, connection: Connection, caller: OrganisationCaller, side: Side, meeting_id: str, host_ids: tuple[str, ...]
    ) -> None:
        """The partner changes only its own staff among the hosts."""
        before_ids = await queries.host_ids(connection, meeting_id)
        known = await organisations.staff_members_by_id(connection, tuple(set(before_ids) | set(host_ids)))
        before = {i: known[i].organisation_id for i in before_ids if i in known}
        after = {i: known[i].organisation_id for i in host_ids if i in known}
        if not access.host_change_allowed(side, before, after, caller.organisation_id):
            raise Forbidden("the other organisation's hosts are theirs to change")

    async def reschedule(
        self, caller: OrganisationCaller, meeting_id: str, starts_at: datetime, ends_at: datetime
    ) -> Meeting:
        now = self._clock()
        violations = rules.check_schedule(starts_at, ends_at, now=now, limits=self._limits.schedule)
        async with self._engine.begin() as connection:
            row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._booking_side_only(side, "the meeting's time")
            if row.status is not MeetingStatus.SCHEDULED:
                raise MeetingClosed("only a meeting that has not started can be moved")
            if violations:
                raise RuleViolation(violations)
            await queries.move_meeting(connection, meeting_id, starts_at, ends_at, now)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="meeting.rescheduled",
                subject_type="meeting",
                subject_id=meeting_id,
                meeting_id=meeting_id,
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
            row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._booking_side_only(side, "cancelling")
            self._ensure_open(row)
            invited = await self._active_participant_rows(connection, meeting_id)
            await queries.cancel_meeting(connection, meeting_id, now)
            # A cancelled meeting's links must stop working at once, and what they opened.
            await queries.revoke_meeting_invitations(connection, meeting_id, now)
            ended = await self._end_entries(connection, meeting_id, None, MEETING_CANCELLED)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="meeting.cancelled",
                subject_type="meeting",
                subject_id=meeting_id,
                meeting_id=meeting_id,
            )
            cancelled = await self._meeting_row(connection, caller, meeting_id)
            await self._announce_cancellation(connection, cancelled, invited)
            meeting = await self._load_meeting(connection, cancelled)
        self._changed(meeting_id)
        await self._tell(ended)
        return meeting

    async def deliveries(self, meeting_id: str) -> dict[str, list[DeliveryLine]]:
        """Where the meeting's messages stand, by participant. It does not check the caller: call
        it only after another operation here has shown the caller may see the meeting."""
        async with self._engine.connect() as connection:
            return await deliveries_by_participant(connection, meeting_id)

    # Participants ----------------------------------------------------------------------------

    async def _participant_row(self, connection: Connection, meeting_id: str, participant_id: str) -> ParticipantRecord:
        row = await queries.participant(connection, meeting_id, participant_id)
        if row is None:
            raise NotFound("no such participant")
        return row

    async def _load_participant(self, connection: Connection, row: ParticipantRecord) -> Participant:
        return await queries.as_participant(connection, row)

    async def _issue_token(self, connection: Connection, participant_id: str, now: datetime) -> tuple[str, str]:
        """A new invitation (revoking any earlier one): its id and its link token."""
        await queries.revoke_invitations(connection, participant_id, now)
        invitation_id = str(uuid.uuid4())
        token = self._links.token(invitation_id)
        await queries.insert_invitation(
            connection,
            invitation_id=invitation_id,
            participant_id=participant_id,
            token_hash=token_hash(token),
            now=now,
        )
        return invitation_id, token

    def _stored_personal_number(self, text: str | None) -> StoredPersonalNumber:
        if text is None:
            return queries.NO_PERSONAL_NUMBER
        number = parse_personal_number("/personal_number", text)
        return StoredPersonalNumber(
            encrypted=self._vault.encrypt(number.normal, "participant"),
            keyed_hash=self._vault.keyed_hash(number.normal),
        )

    def _check_participant_fields(self, new: NewParticipant) -> list[Violation]:
        violations = rules.check_text("/display_name", new.display_name, max_length=200)
        violations += rules.check_contact(new.email, new.mobile)
        return violations

    async def add_participant(
        self, caller: OrganisationCaller, meeting_id: str, new: NewParticipant
    ) -> IssuedInvitation:
        now = self._clock()
        violations = self._check_participant_fields(new)
        try:
            personal_number = self._stored_personal_number(new.personal_number)
        except RuleViolation as exc:
            violations += exc.violations
            personal_number = queries.NO_PERSONAL_NUMBER
        participant_id = str(uuid.uuid4())
        async with self._engine.begin() as connection:
            row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._ensure_open(row)
            if not access.may_invite_role(side, new.role):
                raise Forbidden(f"the organisation that booked the meeting invites the {new.role.value}")
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
            count = await queries.count_participants(connection, meeting_id)
            if count >= self._limits.max_participants:
                raise TooManyParticipants(f"a meeting can have at most {self._limits.max_participants} participants")
            await queries.insert_participant(
                connection,
                participant_id=participant_id,
                meeting_id=meeting_id,
                fields=queries.ParticipantFields(
                    role=new.role,
                    display_name=new.display_name.strip(),
                    organisation_id=new.organisation_id,
                    email=new.email,
                    mobile=rules.normalise_mobile(new.mobile) if new.mobile else None,
                    language=new.language,
                ),
                personal_number=personal_number,
                state=ParticipantState.INVITED,
                now=now,
                invited_by_organisation_id=caller.organisation_id,
            )
            invitation_id, token = await self._issue_token(connection, participant_id, now)
            if self._statistics is not None and new.role is ParticipantRole.INDIVIDUAL and new.personal_number:
                number = parse_personal_number("/personal_number", new.personal_number)
                await self._statistics.individual_booked(connection, meeting_id, number)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="participant.added",
                subject_type="participant",
                subject_id=participant_id,
                meeting_id=meeting_id,
                details={"role": new.role.value, "expects_identity": new.personal_number is not None},
            )
            participant_row = await self._participant_row(connection, meeting_id, participant_id)
            row = await self._next_version(connection, caller, meeting_id, now)
            await self._invite(connection, row, participant_row, invitation_id)
            participant = await self._load_participant(connection, participant_row)
        self._changed(meeting_id)
        return IssuedInvitation(participant, token)

    async def list_participants(self, caller: OrganisationCaller, meeting_id: str) -> list[Participant]:
        async with self._engine.connect() as connection:
            await self._meeting_row(connection, caller, meeting_id)
            rows = await queries.participants_of_meeting(connection, meeting_id)
            return await queries.as_participants(connection, rows)

    async def get_participant(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> Participant:
        async with self._engine.connect() as connection:
            await self._meeting_row(connection, caller, meeting_id)
            return await self._load_participant(
                connection, await self._participant_row(connection, meeting_id, participant_id)
            )

    async def update_participant(
        self, caller: OrganisationCaller, meeting_id: str, participant_id: str, changes: ParticipantChanges
    ) -> Participant:
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            row = await self._managed_participant(connection, caller, side, meeting_id, participant_id)
            merged = NewParticipant(
                role=row.role if changes.role is UNSET else changes.role,  # type: ignore[arg-type]
                display_name=row.display_name if changes.display_name is UNSET else changes.display_name,  # type: ignore[arg-type]
                organisation_id=row.organisation_id if changes.organisation_id is UNSET else changes.organisation_id,  # type: ignore[arg-type]
                email=row.email if changes.email is UNSET else changes.email,  # type: ignore[arg-type]
                mobile=row.mobile if changes.mobile is UNSET else changes.mobile,  # type: ignore[arg-type]
                language=row.language if changes.language is UNSET else changes.language,  # type: ignore[arg-type]
            )
            role = ParticipantRole(merged.role)
            if not access.may_invite_role(side, role):
                raise Forbidden(f"the organisation that booked the meeting invites the {role.value}")
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
            values = queries.ParticipantFields(
                role=role,
                display_name=merged.display_name.strip(),
                organisation_id=merged.organisation_id,
                email=merged.email,
                mobile=rules.normalise_mobile(merged.mobile) if merged.mobile else None,
                language=Language(merged.language),
            )
            personal_number = (
                None if changes.personal_number is UNSET else self._stored_personal_number(changes.personal_number)  # type: ignore[arg-type]
            )
            fields = sorted(
                name for name in ParticipantChanges.__dataclass_fields__ if getattr(changes, name) is not UNSET
            )
            if fields:
                await queries.update_participant(
                    connection, participant_id, values, personal_number=personal_number, now=now
                )
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="participant.updated",
                    subject_type="participant",
                    subject_id=participant_id,
                    meeting_id=meeting_id,
                    details={"fields": fields},
                )
            updated = await self._participant_row(connection, meeting_id, participant_id)
            await self._announce_new_contact(connection, caller, meeting_row, row, updated, now)
            participant = await self._load_participant(connection, updated)
        self._changed(meeting_id)
        return participant

    async def _announce_new_contact(
        self,
        connection: Connection,
        caller: OrganisationCaller,
        meeting_row: MeetingRecord,
        before: ParticipantRecord,
        after: ParticipantRecord,
        now: datetime,
    ) -> None:
        """A changed address or number gets the invitation (the same link), and only the channel
        that changed: a new e-mail address is no reason to text the phone again. An e-mail
        address no longer used gets a cancellation, so its calendar does not keep the meeting."""
        changed = frozenset(
            channel
            for channel, old, new in (
                (ChannelName.EMAIL, before.email, after.email),
                (ChannelName.SMS, before.mobile, after.mobile),
            )
            if old != new
        )
        if not changed or self._notices is None:
            return
        if before.email and ChannelName.EMAIL in changed:
            meeting_row = await self._next_version(connection, caller, meeting_row.id, now)
            name = await self._organisation_name(connection, meeting_row)
            await self._notices.enqueue_withdrawal(connection, meeting_row, after, before.email, name)
        invitation_id = await queries.current_invitation_id(connection, after.id)
        if invitation_id is None:
            return
        if ChannelName.EMAIL in changed:
            meeting_row = await self._next_version(connection, caller, meeting_row.id, now)
        contact = f"{after.email or ''}|{after.mobile or ''}"
        revision = hashlib.sha256(contact.encode()).hexdigest()[:12]
        await self._invite(connection, meeting_row, after, invitation_id, revision, only=changed)

    async def remove_participant(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> None:
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            removed = await self._managed_participant(connection, caller, side, meeting_id, participant_id)
            meeting_row = await self._next_version(connection, caller, meeting_id, now)
            ended = await self._end_entries(connection, meeting_id, participant_id, PARTICIPANT_REMOVED)
            await queries.mark_removed(connection, participant_id, now)
            await queries.revoke_invitations(connection, participant_id, now)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="participant.removed",
                subject_type="participant",
                subject_id=participant_id,
                meeting_id=meeting_id,
            )
            await self._announce_cancellation(connection, meeting_row, [removed])
        self._changed(meeting_id)
        await self._tell(ended)

    async def reissue_invitation(
        self, caller: OrganisationCaller, meeting_id: str, participant_id: str
    ) -> IssuedInvitation:
        """A new link; the old one stops working at once (e.g. it was sent to the wrong person)."""
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting_row, side = await self._access(connection, caller, meeting_id, lock=True)
            self._ensure_open(meeting_row)
            row = await self._managed_participant(connection, caller, side, meeting_id, participant_id)
            invitation_id, token = await self._issue_token(connection, participant_id, now)
            ended = await self._end_entries(connection, meeting_id, participant_id, LINK_REISSUED)
            meeting_row = await self._next_version(connection, caller, meeting_id, now)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="invitation.reissued",
                subject_type="participant",
                subject_id=participant_id,
                meeting_id=meeting_id,
            )
            await self._invite(connection, meeting_row, row, invitation_id, revision=invitation_id[:12])
            issued = IssuedInvitation(await self._load_participant(connection, row), token)
        self._changed(meeting_id)
        await self._tell(ended)
        return issued

    async def revoke_invitation(self, caller: OrganisationCaller, meeting_id: str, participant_id: str) -> Participant:
        now = self._clock()
        async with self._engine.begin() as connection:
            _, side = await self._access(connection, caller, meeting_id, lock=True)
            row = await self._managed_participant(connection, caller, side, meeting_id, participant_id)
            ended = await self._end_entries(connection, meeting_id, participant_id, LINK_REVOKED)
            if await queries.revoke_invitations(connection, participant_id, now):
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="invitation.revoked",
                    subject_type="participant",
                    subject_id=participant_id,
                    meeting_id=meeting_id,
                )
                # Messages still waiting carry the dead link: they would only confuse.
                await outbox.cancel_pending(
                    connection,
                    reason="link revoked",
                    participant_id=participant_id,
                    kinds=[kind for kind in MessageKind if kind is not MessageKind.WITHDRAWAL],
                )
            revoked = await self._load_participant(connection, row)
        await self._tell(ended)
        return revoked
