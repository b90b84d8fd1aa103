"""The digital waiting room: arrivals, a host's decisions, and what each side may learn.

Every operation runs in one transaction that locks the meeting's row, so two hosts (or two
processes) deciding about the same meeting are serialised; the participant's state lives in the
database, never only in a socket. Each operation returns :class:`Notices` — what to tell each
participant's own page and the meeting's hosts — and the transport (socket.io) delivers them.
Nothing here knows about sockets.

What each side sees:

* a participant: their own state, when the meeting starts, that the hosts know they are here,
  their place in the queue if a host chose to show it, and messages a host sent them. Never
  the meeting's title, the other people, or anything of theirs.
* a host: each participant's name *as verified by eID* beside the name they were invited under,
  their role and organisation, whether the verified person is the one invited, and since when
  they wait.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
from meetsvc.services.audit import AuditLog
from meetsvc.services.statistics import StatisticsRecorder
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import identifications, participants, waiting_room as rooms
from meetsvc.storage.queries.participants import UNCHANGED, BoundIdentity, ParticipantRecord, Unchanged
from meetsvc.storage.queries.waiting_room import MeetingTimes, RoomMeeting

MAX_MESSAGE = 500


class WaitingRoomClosed(Conflict):
    code = "waiting-room-closed"
    title = "The waiting room is not open."


@dataclass(frozen=True, slots=True)
class HostCaller:
    staff_id: str

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
    """A participant's own page, and nothing more."""

    state: str
    starts_at: datetime
    opens_at: datetime
    hosts_notified: bool
    position: int | None
    message: str | None
    verified_name: str | None

    def as_payload(self, zone: Any) -> dict[str, Any]:
        return {
            "state": self.state,
            "starts_at": self.starts_at.astimezone(zone).isoformat(),
            "opens_at": self.opens_at.astimezone(zone).isoformat(),
            "hosts_notified": self.hosts_notified,
            "position": self.position,
            "message": self.message,
            "verified_name": self.verified_name,
        }


@dataclass(frozen=True, slots=True)
class WaitingEntry:
    """One line of the host's list."""

    participant_id: str
    invited_name: str
    verified_name: str | None
    verified: bool
    matches_invitation: bool | None
    role: str
    organisation: str | None
    state: str
    waiting_since: datetime | None
    # How the person was identified (eID and level of assurance); None when not identified.
    identified_with: str | None = None
    level_of_assurance: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "invited_name": self.invited_name,
            "verified_name": self.verified_name,
            "verified": self.verified,
            "matches_invitation": self.matches_invitation,
            "identified_with": self.identified_with,
            "level_of_assurance": self.level_of_assurance,
            "role": self.role,
            "organisation": self.organisation,
            "state": self.state,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
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
    """What to deliver after an operation: to participants' own rooms and to a meeting's hosts."""

    meeting_id: str
    participants: dict[str, ParticipantView] = field(default_factory=dict)
    hosts: dict[str, WaitingEntry] = field(default_factory=dict)
    meeting: MeetingSettingsView | None = None
    # Participants whose sockets must leave (removed, denied, meeting ended).
    closed: set[str] = field(default_factory=set)
    # Participants who went from inside the meeting to outside it (credential revocation).
    left_inside: set[str] = field(default_factory=set)
    # Participants who are inside and need a video credential now (just admitted, or an
    # admitted participant's page reconnecting), with the name the video shows them under.
    # Read in the decision's own transaction, with the meeting's times, so that handing them
    # over needs no database after the commit.
    needs_credential: dict[str, str] = field(default_factory=dict)
    times: MeetingTimes | None = None


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

    # Loading ---------------------------------------------------------------------------------

    async def _meeting(self, connection: Connection, meeting_id: str, *, lock: bool) -> RoomMeeting:
        meeting = await rooms.room_meeting(connection, meeting_id, lock=lock)
        if meeting is None:
            raise NotFound("no such meeting")
        return meeting

    async def _host_meeting(
        self, connection: Connection, host: HostCaller, meeting_id: str, *, lock: bool = True
    ) -> RoomMeeting:
        if not await rooms.is_host(connection, meeting_id, host.staff_id):
            raise NotFound("no such meeting")  # not 403: do not confirm the meeting exists
        return await self._meeting(connection, meeting_id, lock=lock)

    async def _participant(self, connection: Connection, meeting_id: str, participant_id: str) -> ParticipantRecord:
        row = await participants.present_participant(connection, meeting_id, participant_id)
        if row is None:
            raise NotFound("no such participant")
        return row

    async def _identity(self, connection: Connection, participant_id: str) -> BoundIdentity | None:
        return await participants.bound_identity(connection, participant_id)

    async def _position(self, connection: Connection, row: ParticipantRecord) -> int | None:
        if row.state != S.WAITING.value or row.waiting_since is None:
            return None
        return await participants.waiting_ahead(connection, row.meeting_id, row.waiting_since, row.id) + 1

    async def _view(
        self, connection: Connection, meeting: RoomMeeting, row: ParticipantRecord, *, state: str | None = None
    ) -> ParticipantView:
        identity = await self._identity(connection, row.id)
        return ParticipantView(
            state=state or row.state,
            starts_at=meeting.starts_at,
            opens_at=meeting.starts_at - self._opens_before,
            hosts_notified=row.state == S.WAITING.value,
            position=await self._position(connection, row) if meeting.show_queue_position else None,
            message=row.host_message,
            verified_name=identity.full_name if identity and not row.unverified else None,
        )

    async def _video_name(self, connection: Connection, row: ParticipantRecord) -> str:
        """The name the video shows: as verified by eID, else as invited."""
        identity = await self._identity(connection, row.id)
        return identity.full_name if identity is not None and not row.unverified else row.display_name

    async def _entry(self, connection: Connection, row: ParticipantRecord) -> WaitingEntry:
        identity = await self._identity(connection, row.id)
        organisation = None
        if row.organisation_id:
            organisation = await rooms.organisation_name(connection, row.organisation_id)
        verified = identity is not None and not row.unverified
        return WaitingEntry(
            participant_id=row.id,
            invited_name=row.display_name,
            verified_name=identity.full_name if verified and identity else None,
            verified=verified,
            matches_invitation=identity.matches_invitation if verified and identity else None,
            role=row.role,
            organisation=organisation,
            state=row.state,
            waiting_since=row.waiting_since,
            identified_with=identity.provider if verified and identity else None,
            level_of_assurance=identity.level_of_assurance if verified and identity else None,
        )

    @staticmethod
    def _settings(meeting: RoomMeeting) -> MeetingSettingsView:
        return MeetingSettingsView(
            meeting.id, meeting.status, meeting.locked, meeting.admission_policy, meeting.show_queue_position
        )

    async def _reload(self, connection: Connection, participant_id: str) -> ParticipantRecord:
        return await participants.reload_participant(connection, participant_id)

    async def _apply(
        self,
        connection: Connection,
        meeting: RoomMeeting,
        row: ParticipantRecord,
        action: Action,
        actor: Actor,
        actor_label: str,
        notices: Notices,
        *,
        unverified: bool | Unchanged = UNCHANGED,
        host_message: str | Unchanged | None = UNCHANGED,
    ) -> ParticipantRecord:
        """Move one participant through the state machine, record it, and note who to tell."""
        before = S(row.state)
        after = transition(before, action, actor)
        now = self._clock()
        waiting_since: datetime | Unchanged = now if after is S.WAITING and before is not S.WAITING else UNCHANGED
        changes = (waiting_since, unverified, host_message)
        if self._statistics is not None and after is S.ADMITTED and before is S.WAITING:
            await self._statistics.admitted(connection, meeting.id, row.waiting_since)
        if after is not before or any(value is not UNCHANGED for value in changes):
            await participants.update_participant(
                connection,
                row.id,
                state=after.value,
                updated_at=now,
                waiting_since=waiting_since,
                unverified=unverified,
                host_message=host_message,
            )
        if after is not before:
            await self._audit.append(
                connection,
                actor=actor_label,
                action=f"participant.{action.value}",
                subject_type="participant",
                subject_id=row.id,
                meeting_id=meeting.id,
                details={"from": before.value, "to": after.value},
                now=now,
            )
        fresh = await self._reload(connection, row.id)
        notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
        notices.participants[row.id] = await self._view(connection, meeting, fresh)
        notices.hosts[row.id] = await self._entry(connection, fresh)
        inside = (S.ADMITTED, S.IN_MEETING)
        if before in inside and after not in inside:
            notices.left_inside.add(row.id)
        if after is S.ADMITTED and before is not S.ADMITTED:
            notices.needs_credential[row.id] = await self._video_name(connection, fresh)
        if after in (S.DENIED, S.REMOVED):
            notices.closed.add(row.id)
        return fresh

    async def _requeue_positions(self, connection: Connection, meeting: RoomMeeting, notices: Notices) -> None:
        """Someone left the queue: tell those still waiting their new place (if shown)."""
        if not meeting.show_queue_position:
            return
        rows = await participants.waiting_participants(connection, meeting.id)
        for row in rows:
            if row.id not in notices.participants:
                notices.participants[row.id] = await self._view(connection, meeting, row)

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

    async def arrive(self, lobby: LobbyPass) -> Notices:
        """A participant's socket connected: put them in the waiting room (or keep their place)."""
        notices = Notices(lobby.meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=True)
            row = await self._participant(connection, lobby.meeting_id, lobby.participant_id)
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
                    notices.needs_credential[row.id] = await self._video_name(connection, row)
                return notices
            closed = self._window(meeting)
            if closed is None and meeting.locked:
                closed = "locked"
            if closed is not None:
                notices.participants[row.id] = await self._view(connection, meeting, row, state=closed)
                return notices
            verified = await self._verified(connection, lobby.session_id)
            if not verified and not lobby.unverified:
                raise Conflict("identify with eID first")
            row = await self._apply(
                connection,
                meeting,
                row,
                Action.ARRIVE,
                Actor.PARTICIPANT,
                f"participant:{row.id}",
                notices,
                unverified=not verified,
                host_message=None,
            )
            identity = await self._identity(connection, row.id)
            arrival = Arrival(
                role=ParticipantRole(row.role),
                verified=verified,
                matches_invitation=identity.matches_invitation if identity and verified else None,
            )
            policy = AdmissionPolicy(meeting.admission_policy)
            if policy_admits(policy, arrival):
                await self._apply(
                    connection, meeting, row, Action.ADMIT, Actor.POLICY, f"policy:{policy.value}", notices
                )
                await self._mark_in_progress(connection, meeting)
        return notices

    async def lobby_pass(self, participant_id: str, session_id: str, *, unverified: bool) -> tuple[LobbyPass, datetime]:
        """What a lobby ticket for this participant's session speaks for, and when their meeting
        ends (the ticket must not outlive it)."""
        async with self._engine.connect() as connection:
            meeting = await participants.meeting_end(connection, participant_id)
        return LobbyPass(participant_id, meeting.meeting_id, session_id, unverified=unverified), meeting.ends_at

    async def participant_view(self, lobby: LobbyPass) -> ParticipantView:
        async with self._engine.connect() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=False)
            row = await self._participant(connection, lobby.meeting_id, lobby.participant_id)
            return await self._view(connection, meeting, row)

    async def current(self, meeting_id: str, participant_ids: list[str] | None = None) -> Notices:
        """What the pages of these participants (everyone present when None) and the meeting's
        hosts would learn by reconnecting, read from the database and changing nothing.

        For notices that may have been lost: a decision whose answer was lost with the database
        (it may have committed), or a Redis outage. A participant removed meanwhile is left out.
        """
        notices = Notices(meeting_id)
        async with self._engine.connect() as connection:
            meeting = await self._meeting(connection, meeting_id, lock=False)
            notices.times = MeetingTimes(meeting.starts_at, meeting.ends_at)
            if participant_ids is None:
                rows = await participants.present_participants(connection, meeting_id)
                notices.meeting = self._settings(meeting)
            else:
                found = [await participants.present_participant(connection, meeting_id, p) for p in participant_ids]
                rows = [row for row in found if row is not None]
            for row in rows:
                notices.participants[row.id] = await self._view(connection, meeting, row)
                notices.hosts[row.id] = await self._entry(connection, row)
                state = S(row.state)
                if state in (S.DENIED, S.REMOVED):
                    notices.closed.add(row.id)
                elif state in (S.ADMITTED, S.IN_MEETING):
                    notices.needs_credential[row.id] = await self._video_name(connection, row)
        return notices

    async def participant_state(self, participant_id: str, meeting_id: str) -> S | None:
        async with self._engine.connect() as connection:
            state = await participants.participant_state(connection, meeting_id, participant_id)
        return S(state) if state else None

    async def join(self, lobby: LobbyPass) -> Notices:
        return await self._participant_action(lobby, Action.JOIN)

    async def leave(self, lobby: LobbyPass) -> Notices:
        return await self._participant_action(lobby, Action.LEAVE)

    async def _participant_action(self, lobby: LobbyPass, action: Action) -> Notices:
        notices = Notices(lobby.meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._meeting(connection, lobby.meeting_id, lock=True)
            row = await self._participant(connection, lobby.meeting_id, lobby.participant_id)
            await self._apply(connection, meeting, row, action, Actor.PARTICIPANT, f"participant:{row.id}", notices)
        return notices

    # Hosts -----------------------------------------------------------------------------------

    async def waiting_list(self, host: HostCaller, meeting_id: str) -> tuple[MeetingSettingsView, list[WaitingEntry]]:
        async with self._engine.connect() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id, lock=False)
            rows = await participants.queue(connection, meeting_id)
            return self._settings(meeting), [await self._entry(connection, row) for row in rows]

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

    async def _mark_in_progress(self, connection: Connection, meeting: RoomMeeting) -> None:
        if meeting.status == MeetingStatus.SCHEDULED.value:
            await rooms.set_meeting_status(connection, meeting.id, MeetingStatus.IN_PROGRESS.value, now=self._clock())

    async def _host_action(
        self,
        host: HostCaller,
        meeting_id: str,
        participant_id: str,
        action: Action,
        *,
        host_message: str | Unchanged | None = UNCHANGED,
    ) -> Notices:
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            if not MeetingStatus(meeting.status).is_open:
                raise WaitingRoomClosed("the meeting has ended")
            row = await self._participant(connection, meeting_id, participant_id)
            was_waiting = row.state == S.WAITING.value
            await self._apply(
                connection, meeting, row, action, Actor.HOST, host.actor, notices, host_message=host_message
            )
            if action is Action.ADMIT:
                await self._mark_in_progress(connection, meeting)
            if was_waiting:
                await self._requeue_positions(connection, meeting, notices)
        return notices

    async def admit(self, host: HostCaller, meeting_id: str, participant_id: str) -> Notices:
        return await self._host_action(host, meeting_id, participant_id, Action.ADMIT)

    async def deny(self, host: HostCaller, meeting_id: str, participant_id: str, message: str | None = None) -> Notices:
        return await self._host_action(host, meeting_id, participant_id, Action.DENY, host_message=_message(message))

    async def send_back(self, host: HostCaller, meeting_id: str, participant_id: str) -> Notices:
        return await self._host_action(host, meeting_id, participant_id, Action.SEND_BACK)

    async def remove(self, host: HostCaller, meeting_id: str, participant_id: str) -> Notices:
        return await self._host_action(host, meeting_id, participant_id, Action.REMOVE)

    async def admit_all_matching(self, host: HostCaller, meeting_id: str) -> Notices:
        """Admit every waiting participant whose verified identity is the one invited."""
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            if not MeetingStatus(meeting.status).is_open:
                raise WaitingRoomClosed("the meeting has ended")
            rows = await participants.waiting_participants(connection, meeting_id)
            for row in rows:
                identity = await self._identity(connection, row.id)
                arrival = Arrival(
                    ParticipantRole(row.role),
                    identity is not None and not row.unverified,
                    identity.matches_invitation if identity else None,
                )
                if matches_for_admit_all(arrival):
                    await self._apply(connection, meeting, row, Action.ADMIT, Actor.HOST, host.actor, notices)
            if notices.needs_credential:
                await self._mark_in_progress(connection, meeting)
                await self._requeue_positions(connection, meeting, notices)
        return notices

    async def send_message(self, host: HostCaller, meeting_id: str, participant_id: str | None, text: str) -> Notices:
        """A message to one waiting participant, or to everyone waiting."""
        text = _message(text) or ""
        if not text:
            raise RuleViolation.single("/text", "not_blank", "must not be empty")
        notices = Notices(meeting_id)
        async with self._engine.begin() as connection:
            meeting = await self._host_meeting(connection, host, meeting_id)
            rows = await participants.waiting_participants(connection, meeting_id, participant_id=participant_id)
            if participant_id is not None and not rows:
                raise NotFound("no such waiting participant")
            for row in rows:
                await participants.set_host_message(connection, row.id, text)
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
                now=self._clock(),
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
        close of a meeting left running past its end)."""
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
        rows = await participants.present_participants(connection, meeting_id)
        for row in rows:
            await self._apply(connection, meeting, row, Action.END, Actor.SYSTEM, "system", notices)
            notices.closed.add(row.id)
        notices.meeting = self._settings(meeting)
        return notices


def _message(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    violations = check_text("/text", text, max_length=MAX_MESSAGE)
    if violations:
        raise RuleViolation(violations)
    return text.strip()
