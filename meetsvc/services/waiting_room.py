"""The digital waiting room: arrivals, a host's decisions, and what each side may learn.

The unit of admission is an *attendance*: one person, in one browser session, on one
invitation. eID binds the verified person to the session that identified (see :func:`bind_session`),
so a second person opening a forwarded link becomes a second entry on the host's list, marked
as such, and never relabels the first; the same person on a second device takes over (the older
session is closed and told why). A host decides about an entry; its notices and its video
credential go to that entry's sockets only. ``participants.state`` summarises the invitation's
entries for the organiser's views. A meeting is in progress from its first admission: the
database marks it so in the statement that admits (migration 0015), whichever path admits.

Every operation runs in one transaction that locks the meeting's row, so two hosts (or two
processes) deciding about the same meeting are serialised; state lives in the database, never
only in a socket. Each operation returns :class:`Notices` — what to tell each entry's own page
and the meeting's hosts — and the transport (socket.io) delivers them. Nothing here knows about
sockets.

What each side sees:

* a participant: their own state, when the meeting starts, that the hosts know they are here,
  their place in the queue if a host chose to show it, and messages a host sent them. Never
  the meeting's title, the other people, or anything of theirs — nor another entry's name.
* a host: each entry's name *as verified by eID* beside the name they were invited under,
  their role and organisation, whether the verified person is the one invited, whether another
  person opened the same invitation first, their presence, and since when they wait.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.admission import (
    Action,
    Actor,
    AdmissionPolicy,
    Arrival,
    matches_for_admit_all,
    policy_admits,
    transition,
)
from meetsvc.domain.errors import Conflict, NotFound, RuleViolation
from meetsvc.domain.model import MeetingStatus, ParticipantRole, ParticipantState as S
from meetsvc.domain.rules import check_text
from meetsvc.services.audit import AuditLog, NewAuditEntry
from meetsvc.services.statistics import StatisticsRecorder
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import (
    attendances as entries,
    identifications,
    participants,
    sessions as stored_sessions,
    waiting_room as rooms,
)
from meetsvc.storage.queries.attendances import AttendanceRecord, Invitation, NewAttendance
from meetsvc.storage.queries.audit import AuditHead
from meetsvc.storage.queries.participants import UNCHANGED, Unchanged
from meetsvc.storage.queries.sessions import SessionCheck
from meetsvc.storage.queries.waiting_room import MeetingTimes, RoomMeeting
from meetsvc.video.base import JoinCredential

MAX_MESSAGE = 500

#: Why an entry (and its browser session) ended: each is its own sentence on the person's page.
LINK_REVOKED = "link_revoked"
LINK_REISSUED = "link_reissued"
PARTICIPANT_REMOVED = "participant_removed"
MEETING_CANCELLED = "meeting_cancelled"
MEETING_ENDED = "meeting_ended"
REPLACED = "replaced"
END_REASONS = (LINK_REVOKED, LINK_REISSUED, PARTICIPANT_REMOVED, MEETING_CANCELLED, MEETING_ENDED, REPLACED)

#: How long a lobby page may be away (a reload, a phone switching networks) before the host
#: sees "connection lost".
PRESENCE_GRACE = timedelta(seconds=10)


class WaitingRoomClosed(Conflict):
    code = "waiting-room-closed"
    title = "The waiting room is not open."


class NotAHost(NotFound):
    """The caller leads no such meeting (or it does not exist: the answer does not say which)."""


class EntryAmbiguous(Conflict):
    code = "entry-ambiguous"
    title = "More than one person opened this invitation: name the entry."


@dataclass
class _Pending:
    """What a decision writes once, at its end, however many entries it moved."""

    audit: list[NewAuditEntry] = field(default_factory=list)
    # When each entry let in from the queue began to wait (the statistics count the waits).
    waits: list[datetime | None] = field(default_factory=list)
    # Where the audit log's chain ended, when the decision's first statement read it under
    # SQLite's write lock: its entries then move the head themselves.
    audit_head: AuditHead | None = None


class CredentialMint(Protocol):
    """Video credentials a decision can mint inside its own transaction: where the backend signs
    them itself, with no network call, they are recorded in the audit log with the decision
    (one append, one commit) and leave the process only once it has committed. A backend that
    issues over the network is not called with the database's lock held: the courier issues
    for it after the commit."""

    async def mint(
        self, meeting_id: str, names: dict[str, str], *, times: MeetingTimes
    ) -> tuple[dict[str, JoinCredential], list[NewAuditEntry]] | None:
        """Each entry's credential (keys are entries, values the names the video shows) and
        the audit entries that record them; None when this backend does not mint offline."""
        ...


@dataclass(frozen=True, slots=True)
class HostCaller:
    """A staff member acting as a host. ``session``: their browser session, when the caller
    has not checked it already; a decision then checks it in the statement that checks the
    host and locks the meeting (a session that is over makes it :class:`NotAHost`)."""

    staff_id: str
    session: SessionCheck | None = None

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


@dataclass(frozen=True, slots=True)
class LobbyPass:
    """Who a lobby ticket speaks for (see :mod:`meetsvc.realtime.tickets`)."""

    participant_id: str
    meeting_id: str
    session_id: str
    unverified: bool = False


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """An entry's own page, and nothing more."""

    state: str
    starts_at: datetime
    opens_at: datetime
    hosts_notified: bool
    position: int | None
    message: str | None
    verified_name: str | None
    # Why the entry ended (one of END_REASONS), when it did.
    ended: str | None = None
    # Waiting because a host sent them back from the meeting (they will be let in again).
    sent_back: bool = False

    def as_payload(self, zone: Any) -> dict[str, Any]:
        return {
            "state": self.state,
            "starts_at": self.starts_at.astimezone(zone).isoformat(),
            "opens_at": self.opens_at.astimezone(zone).isoformat(),
            "hosts_notified": self.hosts_notified,
            "position": self.position,
            "message": self.message,
            "verified_name": self.verified_name,
            "ended": self.ended,
            "sent_back": self.sent_back,
        }


@dataclass(frozen=True, slots=True)
class WaitingEntry:
    """One line of the host's list: one person on one invitation."""

    attendance_id: str
    participant_id: str
    invited_name: str
    verified_name: str | None
    verified: bool
    matches_invitation: bool | None
    second_person: bool
    role: str
    organisation: str | None
    state: str
    presence: str
    waiting_since: datetime | None
    connection_lost_at: datetime | None
    # Why the entry ended (one of END_REASONS), when it did.
    ended: str | None = None
    # How this entry's person was identified (eID and level of assurance); None when not identified.
    identified_with: str | None = None
    level_of_assurance: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {
            "attendance_id": self.attendance_id,
            "participant_id": self.participant_id,
            "invited_name": self.invited_name,
            "verified_name": self.verified_name,
            "verified": self.verified,
            "matches_invitation": self.matches_invitation,
            "second_person": self.second_person,
            "identified_with": self.identified_with,
            "level_of_assurance": self.level_of_assurance,
            "role": self.role,
            "organisation": self.organisation,
            "state": self.state,
            "presence": self.presence,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
            "connection_lost_at": self.connection_lost_at.isoformat() if self.connection_lost_at else None,
            "ended": self.ended,
        }


@dataclass(frozen=True, slots=True)
class MeetingSettingsView:
    meeting_id: str
    status: str
    locked: bool
    admission_policy: str
    show_queue_position: bool

    def as_payload(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "status": self.status,
            "locked": self.locked,
            "admission_policy": self.admission_policy,
            "show_queue_position": self.show_queue_position,
        }


@dataclass
class Notices:
    """What to deliver after an operation: to entries' own rooms and to a meeting's hosts.

    Every key is an attendance id.
    """

    meeting_id: str
    participants: dict[str, ParticipantView] = field(default_factory=dict)
    hosts: dict[str, WaitingEntry] = field(default_factory=dict)
    meeting: MeetingSettingsView | None = None
    # Entries whose lobby sockets must leave the meeting's rooms (removed, denied, meeting ended).
    closed: set[str] = field(default_factory=set)
    # Entries that went from inside the meeting to outside it (credential revocation, and
    # every video socket of theirs disconnected).
    left_inside: set[str] = field(default_factory=set)
    # Entries whose browser session ended, and why: every socket of theirs is disconnected.
    ended: dict[str, str] = field(default_factory=dict)
    # Entries inside that need a video credential now (just admitted, or an admitted entry's
    # page reconnecting), with the name the video shows them under. Read in the decision's own
    # transaction, with the meeting's times, so that handing them over needs no database after
    # the commit.
    needs_credential: dict[str, str] = field(default_factory=dict)
    # Those of them whose credential was minted inside the decision and recorded with it (see
    # :class:`CredentialMint`): they are handed over as they are, after the commit.
    credentials: dict[str, JoinCredential] = field(default_factory=dict)
    times: MeetingTimes | None = None
    # Entries knocking while the meeting was locked, told when it unlocks.
    unlocked: bool = False

    def merge(self, other: Notices) -> None:
        self.participants.update(other.participants)
        self.hosts.update(other.hosts)
        self.meeting = other.meeting or self.meeting
        self.closed |= other.closed
        self.left_inside |= other.left_inside
        self.ended.update(other.ended)
        self.needs_credential.update(other.needs_credential)
        self.credentials.update(other.credentials)
        self.times = other.times or self.times
        self.unlocked = self.unlocked or other.unlocked


#: Every presence a host may see (docs/waiting-room.md has a row for each).
PRESENCES = (
    "identified",
    "knocking",
    "waiting",
    "connection_lost",
    "gone",
    "joining",
    "in_meeting",
    "left_video",
    "left",
    "denied",
    "removed",
    "ended",
)

# The order in which an invitation's entries speak for it in ``participants.state``.
_SUMMARY_ORDER = [
    S.IN_MEETING,
    S.ADMITTED,
    S.WAITING,
    S.IDENTIFYING,
    S.LEFT,
    S.DENIED,
    S.REMOVED,
    S.INVITED,
]


def presence(row: AttendanceRecord, status: str) -> str:
    """What the host sees of an entry's connection, from its sockets (never a guess)."""
    state = S(row.state)
    if row.ended_at is not None:
        return "ended"
    if state in (S.ADMITTED, S.IN_MEETING) and row.video_sockets > 0:
        return "in_meeting"
    if state is S.IN_MEETING:
        return "left_video"
    if state is S.ADMITTED:
        return "joining"
    if state is S.WAITING:
        if row.lobby_sockets > 0:
            return "waiting"
        return "connection_lost" if row.connection_lost_at is not None else "gone"
    if state is S.LEFT:
        return "left"
    if state in (S.DENIED, S.REMOVED):
        return str(state.value)
    if status == "knocking":
        return "knocking"
    return "identified" if row.lobby_sockets == 0 else "knocking"


async def bind_session(
    connection: Connection,
    audit: AuditLog,
    *,
    session_id: str,
    participant_id: str,
    given_name: str,
    surname: str,
    personal_number_hash: str,
    matches_invitation: bool | None,
    provider: str,
    level_of_assurance: str,
    now: datetime,
) -> dict[str, str]:
    """Bind the person eID verified to the session that identified: a new entry of the
    invitation. Earlier entries are never relabelled: another person's stays as it is (the new
    one is marked ``second_person``); the same person's on another device is ended (the newer
    device takes over, and must be admitted anew: the host decides about this entry). Returns
    the entries ended, with why."""
    existing = await entries.by_session(connection, session_id)
    if existing is not None:
        return {}  # one identity per session: a session that identified keeps its person
    meeting = await participants.meeting_end(connection, participant_id)
    others = await entries.live_of_participant(connection, participant_id)
    ended: dict[str, str] = {}
    second = False
    for other in others:
        if other.personal_number_hash == personal_number_hash:
            await entries.end(connection, other.id, now=now, reason=REPLACED)
            await stored_sessions.end_session(connection, other.session_id, now=now, reason=REPLACED)
            ended[other.id] = REPLACED
            await audit.append(
                connection,
                actor=f"participant:{participant_id}",
                action="attendance.replaced",
                subject_type="participant",
                subject_id=participant_id,
                meeting_id=meeting.meeting_id,
                details={"attendance": other.id, "from": other.state},
                now=now,
            )
        elif other.personal_number_hash is not None or other.unverified:
            second = True
    new = NewAttendance(
        id=str(uuid.uuid4()),
        meeting_id=meeting.meeting_id,
        participant_id=participant_id,
        session_id=session_id,
        state=S.IDENTIFYING.value,
        unverified=False,
        created_at=now,
        given_name=given_name,
        surname=surname,
        personal_number_hash=personal_number_hash,
        matches_invitation=matches_invitation,
        provider=provider,
        level_of_assurance=level_of_assurance,
        verified_at=now,
        second_person=second,
    )
    await entries.insert(connection, new)
    await audit.append(
        connection,
        actor=f"participant:{participant_id}",
        action="attendance.bound",
        subject_type="participant",
        subject_id=participant_id,
        meeting_id=meeting.meeting_id,
        details={"attendance": new.id, "matches_invitation": matches_invitation, "second_person": second},
        now=now,
    )
    return ended


class WaitingRoom:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        *,
        opens_before: timedelta = timedelta(minutes=15),
        clock: Clock = utc_now,
        statistics: StatisticsRecorder | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._opens_before = opens_before
        self._clock = clock
        self._statistics = statistics
        self._mint: CredentialMint | None = None

    def mint_credentials_with(self, mint: CredentialMint) -> None:
        """Attach the video hand-over once the backend is open (it is opened after the services)."""
        self._mint = mint

    @property
    def audit(self) -> AuditLog:
        return self._audit

    # Loading ---------------------------------------------------------------------------------

    async def _meeting(self, connection: Connection, meeting_id: str, *, lock: bool) -> RoomMeeting:
        meeting = await rooms.room_meeting(connection, meeting_id, lock=lock)
        if meeting is None:
            raise NotFound("no such meeting")
        return meeting

    async def _host_meeting(
        self, connection: Connection, host: HostCaller, meeting_id: str, *, lock: bool = True
    ) -> RoomMeeting:
        session = host.session if lock else None  # checked where the transaction may write
        meeting = await rooms.hosted_meeting(connection, meeting_id, host.staff_id, lock=lock, session=session)
        if meeting is None:
            raise NotAHost("no such meeting")  # not 403: do not confirm the meeting exists
        return meeting

    async def _host_decision(
        self,
        connection: Connection,
        host: HostCaller,
        meeting_id: str,
        participant_id: str,
        attendance_id: str | None,
        pending: _Pending,
    ) -> tuple[RoomMeeting, AttendanceRecord, list[AttendanceRecord]]:
        """What a host's decision about one entry starts from, in one statement: the meeting,
        locked, once the host's right to decide is checked; the entry they named; and every
        entry of its invitation (their summary is written with the decision). Where that
        statement read the audit log's head too, it is left in ``pending`` for the decision's
        entries."""
        found = await rooms.hosted_invitation(connection, meeting_id, host.staff_id, participant_id, host.session)
        if found is None:
            raise NotAHost("no such meeting")  # not 403: do not confirm the meeting exists
        meeting, invitation, pending.audit_head = found
        if not MeetingStatus(meeting.status).is_open:
            raise WaitingRoomClosed("the meeting has ended")
        row, rows = _named_entry(invitation, participant_id, attendance_id)
        return meeting, row, rows

    async def _position(self, connection: Connection, row: AttendanceRecord) -> int | None:
        if row.state != S.WAITING.value or row.waiting_since is None or row.ended_at is not None:
            return None
        return await entries.waiting_ahead(connection, row.meeting_id, row.waiting_since, row.id) + 1

    async def _view(
        self,
        connection: Connection,
        meeting: RoomMeeting,
        row: AttendanceRecord,
        *,
        state: str | None = None,
        position: int | None = None,
    ) -> ParticipantView:
        """The entry's own page; ``position`` when the caller counted the queue already."""
        if meeting.show_queue_position and position is None:
            position = await self._position(connection, row)
        return ParticipantView(
            state=state or row.state,
            starts_at=meeting.starts_at,
            opens_at=meeting.starts_at - self._opens_before,
            hosts_notified=row.state == S.WAITING.value and row.ended_at is None,
            position=position if meeting.show_queue_position else None,
            message=row.host_message,
            # This entry's own verified name: never another person's who opened the same link.
            verified_name=row.full_name if row.verified else None,
            ended=row.end_reason if row.ended_at is not None else None,
            sent_back=row.sent_back and row.state == S.WAITING.value,
        )

    @staticmethod
    def _video_name(row: AttendanceRecord) -> str:
        """The name the video shows: as verified by eID, else as invited."""
        return (row.full_name if row.verified else None) or row.display_name

    async def _entry(self, connection: Connection, meeting: RoomMeeting, row: AttendanceRecord) -> WaitingEntry:
        organisation = row.organisation_name if row.organisation_id else None
        verified = row.verified
        # Arrived at the locked meeting and its page still open: the same entry the live notice
        # of ``_knock`` gave, so a console opened again still offers to let the person in.
        knocking = row.state in (S.IDENTIFYING.value, S.INVITED.value) and meeting.locked and row.lobby_sockets > 0
        return WaitingEntry(
            attendance_id=row.id,
            participant_id=row.participant_id,
            invited_name=row.display_name,
            verified_name=row.full_name if verified else None,
            verified=verified,
            matches_invitation=row.matches_invitation if verified else None,
            second_person=row.second_person,
            role=row.role,
            organisation=organisation,
            state="knocking" if knocking else row.state,
            presence=presence(row, "knocking" if knocking else "idle"),
            ended=row.end_reason if row.ended_at is not None else None,
            waiting_since=row.waiting_since,
            connection_lost_at=row.connection_lost_at,
            identified_with=row.provider if verified else None,
            level_of_assurance=row.level_of_assurance if verified else None,
        )

    @staticmethod
    def _settings(meeting: RoomMeeting) -> MeetingSettingsView:
        return MeetingSettingsView(
            meeting.id, meeting.status, meeting.locked, meeting.admission_policy, meeting.show_queue_position
        )

    async def _reload(self, connection: Connection, attendance_id: str) -> AttendanceRecord:
        row = await entries.by_id(connection, attendance_id)
        assert row is not None  # written in this transaction
        return row

    async def _summarise(self, connection: Connection, participant_id: str, now: datetime) -> None:
        """``participants.state`` speaks for the invitation's entries (the organiser's views)."""
        summary = _summary_of(await entries.of_participant(connection, participant_id))
        if summary is not None:
            await participants.write_summary(connection, participant_id, summary, updated_at=now)

    async def _note(
        self, connection: Connection, meeting: RoomMeeting, row: AttendanceRecord, notices: Notices
    ) -> None:
        notices.participants[row.id] = await self._view(connection, meeting, row)
        notices.hosts[row.id] = await self._entry(connection, meeting, row)

    async def _apply(
        self,
        connection: Connection,
        meeting: RoomMeeting,
        row: AttendanceRecord,
        action: Action,
        actor: Actor,
        actor_label: str,
        notices: Notices,
        *,
        unverified: bool | Unchanged = UNCHANGED,
        host_message: str | Unchanged | None = UNCHANGED,
        invitation: list[AttendanceRecord] | None = None,
        pending: _Pending | None = None,
    ) -> AttendanceRecord:
        """Move one entry through the state machine, record it, and note who to tell.

        ``invitation``: every entry of the entry's invitation as read in this transaction (kept
        up to date here), so that their summary needs no second read. ``pending``: where to leave
        the audit entry and the wait for the caller to write with the others of its decision
        (:meth:`_flush`); without it they are written here."""
        own = pending is None
        pending = pending if pending is not None else _Pending()
        before = S(row.state)
        after = transition(before, action, actor)
        now = self._clock()
        if after is S.ADMITTED and before is S.WAITING:
            pending.waits.append(row.waiting_since)
        values: dict[str, Any] = {}
        if after is S.WAITING and before is not S.WAITING:
            values["waiting_since"] = now
        if after is not before:
            values["sent_back"] = action is Action.SEND_BACK
        if unverified is not UNCHANGED:
            values["unverified"] = unverified
        if host_message is not UNCHANGED:
            values["host_message"] = host_message
        fresh = row
        if after is not before or values:
            values["state"] = after.value
            if invitation is None:
                fresh = await entries.changed(connection, row, now=now, **values)
                await self._summarise(connection, row.participant_id, now)
            else:
                # The summary is worked out from the entries as they will stand, and written
                # with the entry (one statement where the database allows).
                planned = replace(row, **values)
                invitation[:] = [planned if other.id == row.id else other for other in invitation]
                summary = _summary_of(invitation)
                assert summary is not None  # the invitation holds this entry
                fresh = await entries.changed_and_summarised(connection, row, summary, now=now, **values)
                invitation[:] = [fresh if other.id == fresh.id else other for other in invitation]
        if after is not before:
            pending.audit.append(
                NewAuditEntry(
                    actor=actor_label,
                    action=f"participant.{action.value}",
                    subject_type="participant",
                    subject_id=row.participant_id,
                    meeting_id=meeting.id,
                    details={"from": before.value, "to": after.value, "attendance": row.id},
                    now=now,
                )
            )
        if own:
            await self._flush(connection, meeting, pending)
        notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
        await self._note(connection, meeting, fresh, notices)
        inside = (S.ADMITTED, S.IN_MEETING)
        if before in inside and after not in inside:
            notices.left_inside.add(row.id)
        if after is S.ADMITTED and before is not S.ADMITTED:
            notices.needs_credential[row.id] = self._video_name(fresh)
        if after in (S.DENIED, S.REMOVED):
            notices.closed.add(row.id)
        return fresh

    async def _flush(
        self, connection: Connection, meeting: RoomMeeting, pending: _Pending, notices: Notices | None = None
    ) -> None:
        """Write what a decision left pending: its audit entries (the head moves once for them
        all) and how long those it let in waited (one statement for them all). With ``notices``,
        the credentials of those it let in are minted first where the backend can, and recorded
        with the rest (:class:`CredentialMint`)."""
        if notices is not None:
            await self._mint_credentials(meeting, notices, pending)
        await self._audit.append_all(connection, pending.audit, head=pending.audit_head)
        pending.audit_head = None  # moved by those entries
        if self._statistics is not None and any(since is not None for since in pending.waits):
            await self._statistics.admitted_from(
                connection, meeting.id, meeting.starts_at, meeting.time_zone, pending.waits
            )
        pending.audit.clear()
        pending.waits.clear()

    async def _mint_credentials(self, meeting: RoomMeeting, notices: Notices, pending: _Pending) -> None:
        wanted = {
            attendance_id: name
            for attendance_id, name in notices.needs_credential.items()
            if attendance_id not in notices.ended and attendance_id not in notices.credentials
        }
        if self._mint is None or not wanted:
            return
        minted = await self._mint.mint(meeting.id, wanted, times=MeetingTimes(meeting.starts_at, meeting.ends_at))
        if minted is not None:
            credentials, records = minted
            notices.credentials.update(credentials)
            pending.audit.extend(records)

    async def _requeue_positions(self, connection: Connection, meeting: RoomMeeting, notices: Notices) -> None:
        """Someone left the queue: tell those still waiting their new place (if shown), counted
        from the one read of the queue."""
        if not meeting.show_queue_position:
            return
        queue = await entries.waiting_of_meeting(connection, meeting.id)
        for place, row in enumerate(queue, 1):
            if row.id not in notices.participants:
                notices.participants[row.id] = await self._view(connection, meeting, row, position=place)

    # Participants ----------------------------------------------------------------------------

    def _window(self, meeting: RoomMeeting) -> str | None:
        """Why the waiting room is closed now, or None when it is open."""
        if not MeetingStatus(meeting.status).is_open:
            return "closed"
        if self._clock() < meeting.starts_at - self._opens_before:
            return "not_open"
        return None

    async def _verified(self, connection: Connection, session_id: str) -> bool:
        return await identifications.latest_state_in_session(connection, session_id) == identifications.COMPLETE

    async def _own_entry(self, connection: Connection, lobby: LobbyPass, *, create: bool) -> AttendanceRecord | None:
        """The entry this session opened; a session that waits without eID opens one on arrival."""
        row = await entries.by_session(connection, lobby.session_id)
        if row is not None:
            if row.participant_id != lobby.participant_id:
                raise NotFound("no such entry")
            return row
        if not create or not lobby.unverified:
            return None
        session = await stored_sessions.by_id(connection, lobby.session_id)
        if session is None or session.ended_at is not None:
            # A session that was ended (its link revoked, say) opens nothing, even with a ticket
            # issued before.
            raise EntryEnded(session.end_reason if session is not None and session.end_reason else LINK_REVOKED)
        now = self._clock()
        new = NewAttendance(
            id=str(uuid.uuid4()),
            meeting_id=lobby.meeting_id,
            participant_id=lobby.participant_id,
            session_id=lobby.session_id,
            state=S.INVITED.value,
            unverified=True,
            created_at=now,
            second_person=bool(await entries.live_of_participant(connection, lobby.participant_id)),
        )
        await entries.insert(connection, new)
        await self._audit.append(
            connection,
            actor=f"participant:{lobby.participant_id}",
            action="attendance.opened_unverified",
            subject_type="participant",
            subject_id=lobby.participant_id,
            meeting_id=lobby.meeting_id,
            details={"attendance": new.id, "second_person": new.second_person},
            now=now,
        )
        return await self._reload(connection, new.id)

    async def entry_id(self, lobby: LobbyPass) -> str | None:
        """The entry behind a lobby ticket (its sockets' room), None if there is none yet."""
        async with self._engine.connect() as connection:
            row = await entries.by_session(connection, lobby.session_id)
        return row.id if row is not None and row.participant_id == lobby.participant_id else None

    async def arrive(self, lobby: LobbyPass) -> Notices:
        """An entry's lobby socket connected: put them in the waiting room (or keep their place)."""
        notices = Notices(lobby.meeting_id)
        pending = _Pending()
        async with self._engine.begin() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=True)
            invitation = await entries.invitation_entries(connection, lobby.meeting_id, lobby.participant_id)
            if invitation is None:
                raise NotFound("no such participant")
            if not lobby.unverified and not await self._verified(connection, lobby.session_id):
                raise Conflict("identify with eID first")
            known: list[AttendanceRecord] | None = invitation.entries
            row = next((one for one in invitation.entries if one.session_id == lobby.session_id), None)
            if row is None:
                # Not opened yet (or not on this invitation): the invitation is read again when
                # its summary is written.
                known = None
                row = await self._own_entry(connection, lobby, create=True)
            if row is None:
                raise Conflict("identify with eID first")
            if row.ended_at is not None:
                notices.participants[row.id] = await self._view(connection, meeting, row)
                notices.ended[row.id] = row.end_reason or MEETING_ENDED
                return notices
            state = S(row.state)
            if state in (S.DENIED, S.REMOVED):
                notices.participants[row.id] = await self._view(connection, meeting, row)
                notices.closed.add(row.id)
                return notices
            if state in (S.WAITING, S.ADMITTED, S.IN_MEETING):
                # A reconnect: same place, same state, nothing for the hosts to act on.
                notices.participants[row.id] = await self._view(connection, meeting, row)
                if state is not S.WAITING:
                    notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
                    notices.needs_credential[row.id] = self._video_name(row)
                return notices
            closed = self._window(meeting)
            if closed is None and meeting.locked:
                closed = "locked"
            if closed is not None:
                notices.participants[row.id] = await self._view(connection, meeting, row, state=closed)
                if closed == "locked":
                    await self._knock(connection, meeting, row, notices)
                return notices
            row = await self._apply(
                connection,
                meeting,
                row,
                Action.ARRIVE,
                Actor.PARTICIPANT,
                f"participant:{row.participant_id}",
                notices,
                unverified=not row.verified,
                host_message=None,
                invitation=known,
                pending=pending,
            )
            arrival = Arrival(
                role=ParticipantRole(row.role),
                verified=row.verified,
                matches_invitation=row.matches_invitation if row.verified else None,
            )
            policy = AdmissionPolicy(meeting.admission_policy)
            # Never by policy when another person opened the same invitation: a host decides.
            admitted = policy_admits(policy, arrival) and not row.second_person
            if admitted:
                await self._apply(
                    connection,
                    meeting,
                    row,
                    Action.ADMIT,
                    Actor.POLICY,
                    f"policy:{policy.value}",
                    notices,
                    invitation=known,
                    pending=pending,
                )
            await self._flush(connection, meeting, pending, notices)
        return notices

    async def _knock(
        self, connection: Connection, meeting: RoomMeeting, row: AttendanceRecord, notices: Notices
    ) -> None:
        """Someone arrived while the meeting is locked: the hosts see them knocking."""
        if row.state == S.INVITED.value:
            now = self._clock()
            await entries.change(connection, row.id, now=now, state=S.IDENTIFYING.value)
            await self._summarise(connection, row.participant_id, now)
            await self._audit.append(
                connection,
                actor=f"participant:{row.participant_id}",
                action="attendance.knocked",
                subject_type="participant",
                subject_id=row.participant_id,
                meeting_id=meeting.id,
                details={"attendance": row.id},
                now=now,
            )
            row = await self._reload(connection, row.id)
        entry = await self._entry(connection, meeting, row)
        notices.hosts[row.id] = WaitingEntry(**{**_fields(entry), "presence": "knocking", "state": "knocking"})

    async def lobby_pass(self, participant_id: str, session_id: str, *, unverified: bool) -> tuple[LobbyPass, datetime]:
        """What a lobby ticket for this participant's session speaks for, and when their meeting
        ends (the ticket must not outlive it). Refused once the session's entry ended."""
        async with self._engine.connect() as connection:
            meeting = await participants.meeting_end(connection, participant_id)
            row = await entries.by_session(connection, session_id)
            if row is not None and row.ended_at is not None:
                raise EntryEnded(row.end_reason or MEETING_ENDED)
            status = await rooms.room_meeting(connection, meeting.meeting_id, lock=False)
            if status is not None and status.status in (MeetingStatus.ENDED.value, MeetingStatus.CANCELLED.value):
                raise EntryEnded(MEETING_ENDED if status.status == MeetingStatus.ENDED.value else MEETING_CANCELLED)
        return LobbyPass(participant_id, meeting.meeting_id, session_id, unverified=unverified), meeting.ends_at

    async def participant_view(self, lobby: LobbyPass) -> ParticipantView | None:
        async with self._engine.connect() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=False)
            row = await entries.by_session(connection, lobby.session_id)
            return await self._view(connection, meeting, row) if row is not None else None

    async def session_entry(self, session_id: str) -> AttendanceRecord | None:
        """The entry a browser session opened (pages show its own verified name, and whether it
        is still inside: a reload of the video page needs no eID again)."""
        async with self._engine.connect() as connection:
            return await entries.by_session(connection, session_id)

    async def current(self, meeting_id: str, participant_ids: list[str] | None = None) -> Notices:
        """What the pages of these invitations' entries (everyone open when None) and the
        meeting's hosts would learn by reconnecting, read from the database and changing nothing.

        For notices that may have been lost: a decision whose answer was lost with the database
        (it may have committed), or a Redis outage. Entries ended meanwhile are left out.
        """
        notices = Notices(meeting_id)
        async with self._engine.connect() as connection:
            meeting = await self._meeting(connection, meeting_id, lock=False)
            notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
            rows = await entries.live_of_meeting(connection, meeting_id)
            if participant_ids is None:
                notices.meeting = self._settings(meeting)
            else:
                wanted = set(participant_ids)
                rows = [row for row in rows if row.participant_id in wanted or row.id in wanted]
            for row in rows:
                await self._note(connection, meeting, row, notices)
                state = S(row.state)
                if state in (S.DENIED, S.REMOVED):
                    notices.closed.add(row.id)
                elif state in (S.ADMITTED, S.IN_MEETING):
                    notices.needs_credential[row.id] = self._video_name(row)
        return notices

    async def entry_state(self, attendance_id: str, meeting_id: str) -> S | None:
        """An open entry's state (the video's check on every message), None once it ended."""
        async with self._engine.connect() as connection:
            state = await entries.state_in_meeting(connection, meeting_id, attendance_id)
        return S(state) if state else None

    async def participant_state(self, attendance_id: str, meeting_id: str) -> S | None:
        return await self.entry_state(attendance_id, meeting_id)

    async def join(self, lobby: LobbyPass) -> Notices:
        return await self._participant_action(lobby, Action.JOIN)

    async def leave(self, lobby: LobbyPass) -> Notices:
        return await self._participant_action(lobby, Action.LEAVE)

    async def rejoin(self, lobby: LobbyPass) -> Notices:
        """After "Lämna mötet": back to the waiting room (a host lets them in again)."""
        return await self.arrive(lobby)

    async def _participant_action(self, lobby: LobbyPass, action: Action) -> Notices:
        notices = Notices(lobby.meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=True)
            row = await self._own_entry(connection, lobby, create=False)
            if row is None or row.ended_at is not None:
                raise NotFound("no such entry")
            actor = f"participant:{row.participant_id}"
            await self._apply(connection, meeting, row, action, Actor.PARTICIPANT, actor, notices)
        return notices

    async def forget_presence(self) -> int:
        """At the start of the only process that holds sockets: no socket counted before is
        open any more (a process that stopped cleanly counted its own out; one that crashed
        could not). Without this, pages reconnecting after a crash would be counted twice and
        a person who then closes the page would stay "waiting" on every host's list.

        Everyone whose page was open has lost the connection as of now (within the grace their
        page comes back, as after any dropped connection), and everyone who was in the video
        has left it, on record. Answers how many had left the video so."""
        async with self._engine.begin() as connection:
            now = self._clock()
            in_video = await entries.forget_sockets(connection, now=now)
            await self._audit.append_all(
                connection,
                [
                    NewAuditEntry(
                        actor="system",
                        action="attendance.video_left",
                        subject_type="participant",
                        subject_id=row.participant_id,
                        meeting_id=row.meeting_id,
                        details={"attendance": row.id, "reason": "restart"},
                        now=now,
                    )
                    for row in in_video
                ],
            )
        return len(in_video)

    async def presence_changed(self, attendance_id: str, *, kind: str, by: int) -> Notices:
        """A lobby or video socket of an entry opened (``by=1``) or closed (``by=-1``): the
        hosts see it. The last lobby socket of someone waiting going marks "connection lost";
        after :data:`PRESENCE_GRACE` the host's list shows them gone."""
        async with self._engine.begin() as connection:
            row = await entries.by_id(connection, attendance_id)
            if row is None:
                return Notices("")
            notices = Notices(row.meeting_id)
            meeting = await self._meeting(connection, row.meeting_id, lock=True)
            now = self._clock()
            await entries.adjust_sockets(connection, attendance_id, kind=kind, by=by, now=now)
            row = await self._reload(connection, attendance_id)
            if kind == "lobby":
                lost = now if row.lobby_sockets == 0 else None
                await entries.change(connection, attendance_id, now=now, connection_lost_at=lost)
                row = await self._reload(connection, attendance_id)
            if row.ended_at is None and kind == "video" and by > 0 and row.state == S.ADMITTED.value:
                # The video socket of someone let in connected: they are in the meeting now.
                actor = f"participant:{row.participant_id}"
                row = await self._apply(connection, meeting, row, Action.JOIN, Actor.PARTICIPANT, actor, notices)
            if row.ended_at is None:
                if kind == "video":
                    # Who was in the room: each entry's video coming and going is on record.
                    await self._audit.append(
                        connection,
                        actor=f"participant:{row.participant_id}",
                        action="attendance.video_joined" if by > 0 else "attendance.video_left",
                        subject_type="participant",
                        subject_id=row.participant_id,
                        meeting_id=row.meeting_id,
                        details={"attendance": attendance_id},
                        now=now,
                    )
                notices.hosts[row.id] = await self._entry(connection, meeting, row)
                if meeting.locked and row.state == S.IDENTIFYING.value and row.lobby_sockets > 0:
                    await self._knock(connection, meeting, row, notices)
            return notices

    # Hosts -----------------------------------------------------------------------------------

    async def waiting_list(self, host: HostCaller, meeting_id: str) -> tuple[MeetingSettingsView, list[WaitingEntry]]:
        async with self._engine.connect() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id, lock=False)
            rows = await entries.listed_of_meeting(connection, meeting_id)
            now = self._clock()
            listed = []
            for row in rows:
                if row.ended_at is not None and row.end_reason == REPLACED:
                    continue  # the same person on a newer device: that entry speaks for them
                entry = await self._entry(connection, meeting, row)
                lost = row.connection_lost_at
                if entry.presence == "connection_lost" and lost is not None and now - lost >= PRESENCE_GRACE:
                    entry = WaitingEntry(**{**_fields(entry), "presence": "gone"})
                listed.append(entry)
            return self._settings(meeting), listed

    async def meeting_for_host(self, host: HostCaller, meeting_id: str) -> RoomMeeting:
        """The meeting as its host's console shows it (title and times; hosts may see them)."""
        async with self._engine.connect() as connection:
            return await self._host_meeting(connection, host, meeting_id, lock=False)

    async def hosts_for_host(self, host: HostCaller, meeting_id: str) -> list[rooms.RoomHost]:
        """The meeting's hosts with their HSA-ids, for a host's console: staff of a region and a
        municipality lead together, and the HSA-id says who each is in healthcare's directory."""
        async with self._engine.connect() as connection:
            await self._host_meeting(connection, host, meeting_id, lock=False)
            return await rooms.hosts_of_meeting(connection, meeting_id)

    async def is_host(self, host: HostCaller, meeting_id: str) -> bool:
        try:
            async with self._engine.connect() as connection:
                await self._host_meeting(connection, host, meeting_id, lock=False)
        except NotFound:
            return False
        return True

    async def host_may_join(self, host: HostCaller, meeting_id: str) -> bool:
        """A host may enter the meeting's video only while it is open: ended means ended."""
        try:
            async with self._engine.connect() as connection:
                meeting = await self._host_meeting(connection, host, meeting_id, lock=False)
        except NotFound:
            return False
        return MeetingStatus(meeting.status).is_open

    async def _host_action(
        self,
        host: HostCaller,
        meeting_id: str,
        participant_id: str,
        action: Action,
        *,
        attendance_id: str | None = None,
        host_message: str | Unchanged | None = UNCHANGED,
    ) -> Notices:
        notices = Notices(meeting_id)
        pending = _Pending()
        async with self._engine.begin() as connection:
            meeting, row, invitation = await self._host_decision(
                connection, host, meeting_id, participant_id, attendance_id, pending
            )
            was_waiting = row.state == S.WAITING.value
            if action is Action.ADMIT and meeting.locked and _may_knock(row):
                # Admitting someone knocking at a locked meeting: they arrive, then are let in.
                row = await self._apply(
                    connection,
                    meeting,
                    row,
                    Action.ARRIVE,
                    Actor.PARTICIPANT,
                    "system",
                    notices,
                    host_message=None,
                    invitation=invitation,
                    pending=pending,
                )
            await self._apply(
                connection,
                meeting,
                row,
                action,
                Actor.HOST,
                host.actor,
                notices,
                host_message=host_message,
                invitation=invitation,
                pending=pending,
            )
            await self._flush(connection, meeting, pending, notices)
            if was_waiting:
                await self._requeue_positions(connection, meeting, notices)
        return notices

    async def admit(
        self, host: HostCaller, meeting_id: str, participant_id: str, attendance_id: str | None = None
    ) -> Notices:
        return await self._host_action(
            host, meeting_id, participant_id, Action.ADMIT, attendance_id=attendance_id, host_message=None
        )

    async def deny(
        self,
        host: HostCaller,
        meeting_id: str,
        participant_id: str,
        message: str | None = None,
        attendance_id: str | None = None,
    ) -> Notices:
        return await self._host_action(
            host, meeting_id, participant_id, Action.DENY, attendance_id=attendance_id, host_message=_message(message)
        )

    async def send_back(
        self,
        host: HostCaller,
        meeting_id: str,
        participant_id: str,
        attendance_id: str | None = None,
        message: str | None = None,
    ) -> Notices:
        return await self._host_action(
            host,
            meeting_id,
            participant_id,
            Action.SEND_BACK,
            attendance_id=attendance_id,
            host_message=_message(message),
        )

    async def remove(
        self, host: HostCaller, meeting_id: str, participant_id: str, attendance_id: str | None = None
    ) -> Notices:
        return await self._host_action(host, meeting_id, participant_id, Action.REMOVE, attendance_id=attendance_id)

    async def admit_all_matching(self, host: HostCaller, meeting_id: str) -> Notices:
        """Admit every waiting entry whose verified identity is the one invited (never one of
        two people on the same invitation: a host looks at those).

        One statement a table for them all, however many they are: the entries, their
        invitations' summaries, the audit entries, the waits."""
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            if not MeetingStatus(meeting.status).is_open:
                raise WaitingRoomClosed("the meeting has ended")
            open_entries = await entries.live_of_meeting(connection, meeting_id)
            per_invitation = Counter(row.participant_id for row in open_entries)
            chosen = []
            for row in open_entries:
                if row.state != S.WAITING.value or per_invitation[row.participant_id] > 1:
                    continue
                arrival = Arrival(
                    ParticipantRole(row.role), row.verified, row.matches_invitation if row.verified else None
                )
                if matches_for_admit_all(arrival):
                    chosen.append(row)
            if not chosen:
                return notices
            after = transition(S.WAITING, Action.ADMIT, Actor.HOST)
            now = self._clock()
            admitted = await entries.changed_all(connection, chosen, now=now, state=after.value, sent_back=False)
            # Each invitation has this one open entry, which speaks for it now.
            await participants.update_summaries(
                connection,
                {
                    row.participant_id: participants.Summary(
                        row.state, row.waiting_since, row.unverified, row.host_message
                    )
                    for row in admitted
                },
                updated_at=now,
            )
            pending = _Pending(
                audit=[
                    NewAuditEntry(
                        actor=host.actor,
                        action=f"participant.{Action.ADMIT.value}",
                        subject_type="participant",
                        subject_id=row.participant_id,
                        meeting_id=meeting.id,
                        details={"from": S.WAITING.value, "to": after.value, "attendance": row.id},
                        now=now,
                    )
                    for row in admitted
                ],
                waits=[row.waiting_since for row in admitted],
            )
            notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
            for row in admitted:
                await self._note(connection, meeting, row, notices)
                notices.needs_credential[row.id] = self._video_name(row)
            await self._flush(connection, meeting, pending, notices)
            await self._requeue_positions(connection, meeting, notices)
        return notices

    async def send_message(self, host: HostCaller, meeting_id: str, participant_id: str | None, text: str) -> Notices:
        """A message to one waiting invitation's entries, or to everyone waiting."""
        text = _message(text) or ""
        if not text:
            raise RuleViolation.single("/text", "not_blank", "must not be empty")
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            rows = await entries.waiting_of_meeting(connection, meeting_id)
            if participant_id is not None:
                rows = [row for row in rows if participant_id in (row.participant_id, row.id)]
                if not rows:
                    raise NotFound("no such waiting participant")
            now = self._clock()
            for row in rows:
                await entries.change(connection, row.id, now=now, host_message=text)
                await self._summarise(connection, row.participant_id, now)
                notices.participants[row.id] = await self._view(
                    connection, meeting, await self._reload(connection, row.id)
                )
            await self._audit.append(
                connection,
                actor=host.actor,
                action="waiting_room.message",
                subject_type="meeting",
                subject_id=meeting_id,
                meeting_id=meeting_id,
                details={"recipients": len(rows), "to_one": participant_id is not None},
                now=now,
            )
        return notices

    async def configure(
        self,
        host: HostCaller,
        meeting_id: str,
        *,
        locked: bool | None = None,
        admission_policy: AdmissionPolicy | None = None,
        show_queue_position: bool | None = None,
    ) -> Notices:
        values: dict[str, Any] = {}
        if locked is not None:
            values["locked"] = locked
        if admission_policy is not None:
            values["admission_policy"] = admission_policy.value
        if show_queue_position is not None:
            values["show_queue_position"] = show_queue_position
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            if not MeetingStatus(meeting.status).is_open:
                raise WaitingRoomClosed("the meeting has ended")
            was_locked = meeting.locked
            if values:
                await rooms.configure_room(
                    connection,
                    meeting_id,
                    locked=locked,
                    admission_policy=admission_policy.value if admission_policy is not None else None,
                    show_queue_position=show_queue_position,
                )
                await self._audit.append(
                    connection,
                    actor=host.actor,
                    action="waiting_room.configured",
                    subject_type="meeting",
                    subject_id=meeting_id,
                    meeting_id=meeting_id,
                    details=dict(values),
                    now=self._clock(),
                )
            meeting = await self._meeting(connection, meeting_id, lock=False)
            notices.meeting = self._settings(meeting)
            notices.unlocked = was_locked and not meeting.locked
            if show_queue_position is not None:
                await self._requeue_positions(connection, meeting, notices)
        return notices

    async def end(self, host: HostCaller, meeting_id: str) -> Notices:
        """End the meeting: everyone waiting or inside leaves, the waiting room closes."""
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            if not MeetingStatus(meeting.status).is_open:
                raise WaitingRoomClosed("the meeting has ended already")
            return await self.end_in(connection, meeting_id, actor=host.actor)

    async def end_in(self, connection: Connection, meeting_id: str, *, actor: str) -> Notices:
        """End an open meeting inside the caller's transaction (a host's end, or the schedule's
        close of a meeting left running past its end): every entry and session on it ends."""
        notices = Notices(meeting_id)
        now = self._clock()
        await rooms.set_meeting_status(connection, meeting_id, MeetingStatus.ENDED.value, now=now)
        await self._audit.append(
            connection,
            actor=actor,
            action="meeting.ended",
            subject_type="meeting",
            subject_id=meeting_id,
            meeting_id=meeting_id,
            now=now,
        )
        meeting = await self._meeting(connection, meeting_id, lock=False)
        notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
        for row in await entries.live_of_meeting(connection, meeting_id):
            await self._apply(connection, meeting, row, Action.END, Actor.SYSTEM, "system", notices)
            notices.closed.add(row.id)
        notices.merge(await self.end_entries_in(connection, meeting_id, None, MEETING_ENDED))
        notices.meeting = self._settings(meeting)
        return notices

    async def end_entries_in(
        self, connection: Connection, meeting_id: str, participant_id: str | None, reason: str
    ) -> Notices:
        """End every entry and browser session on one invitation (or, with None, on every
        invitation of the meeting), inside the caller's transaction: the link was revoked or
        reissued, the participant removed, the meeting cancelled or ended. The notices close
        every socket of theirs, whatever its page does."""
        notices = Notices(meeting_id)
        now = self._clock()
        meeting = await self._meeting(connection, meeting_id, lock=False)
        notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
        if participant_id is None:
            rows = await entries.live_of_meeting(connection, meeting_id)
            await stored_sessions.end_meeting_sessions(connection, meeting_id, now=now, reason=reason)
        else:
            rows = await entries.live_of_participant(connection, participant_id)
            await stored_sessions.end_participant_sessions(connection, participant_id, now=now, reason=reason)
        for row in rows:
            await entries.end(connection, row.id, now=now, reason=reason)
            await self._audit.append(
                connection,
                actor="system",
                action="attendance.ended",
                subject_type="participant",
                subject_id=row.participant_id,
                meeting_id=meeting_id,
                details={"attendance": row.id, "reason": reason, "from": row.state},
                now=now,
            )
            if row.state in (S.ADMITTED.value, S.IN_MEETING.value):
                notices.left_inside.add(row.id)
            notices.ended[row.id] = reason
            fresh = await self._reload(connection, row.id)
            await self._note(connection, meeting, fresh, notices)
        return notices


class EntryEnded(Conflict):
    """The browser session's entry ended: its page says why, no ticket is issued."""

    code = "entry-ended"
    title = "This invitation's session has ended."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _named_entry(
    invitation: Invitation | None, participant_id: str, attendance_id: str | None
) -> tuple[AttendanceRecord, list[AttendanceRecord]]:
    """The entry a host named (by its id, or the invitation's only open entry), with every entry
    of its invitation."""
    if attendance_id is not None:
        named = [row for row in invitation.entries if row.id == attendance_id] if invitation else []
        if not named or named[0].ended_at is not None:
            raise NotFound("no such entry")
        return named[0], invitation.entries if invitation else []
    if invitation is None:
        raise NotFound("no such participant")
    rows = [row for row in invitation.entries if row.ended_at is None]
    if not rows:
        raise NotFound("nobody has opened this invitation")
    if len(rows) > 1:
        raise EntryAmbiguous("more than one person opened this invitation")
    return rows[0], invitation.entries


def _summary_of(rows: list[AttendanceRecord]) -> participants.Summary | None:
    """What ``participants`` says of an invitation whose entries are ``rows``: its live entry
    furthest along (the last entry when none is live); None for an invitation nobody opened."""
    live = [row for row in rows if row.ended_at is None] or rows[-1:]
    if not live:
        return None
    lead = min(live, key=lambda row: _SUMMARY_ORDER.index(S(row.state)))
    return participants.Summary(lead.state, lead.waiting_since, lead.unverified, lead.host_message)


def _may_knock(row: AttendanceRecord) -> bool:
    """Whether the entry may be knocking at a locked meeting: not yet in the waiting room, or
    left the meeting and asking to come back from its open page (the hosts were told it knocks,
    see ``WaitingRoom._knock``, so their admit must let it in)."""
    if row.state in (S.IDENTIFYING.value, S.INVITED.value):
        return True
    return row.state == S.LEFT.value and row.lobby_sockets > 0


def _fields(entry: WaitingEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__slots__}


def _message(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    violations = check_text("/text", text, max_length=MAX_MESSAGE)
    if violations:
        raise RuleViolation(violations)
    return text.strip()
