"""The timed work itself: what each kind of event does to the database when it falls due.

Each handler runs in one transaction, re-reads its meeting and acts only if the event is still
due (:func:`~meetsvc.schedule.events.still_due`), and is safe to run twice: reminders are
recorded under dedupe keys that hold the meeting's start, the close and the purge check the
state they change. That is what lets a rebuilt schedule, or a second process that briefly
believes it leads, run a job again without anyone hearing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from meetsvc.core.clock import Clock
from meetsvc.domain.model import MeetingStatus
from meetsvc.notify import outbox
from meetsvc.notify.notices import MessageNotices
from meetsvc.schedule.events import Event, EventKind, Rules, still_due
from meetsvc.services.audit import AuditLog
from meetsvc.services.directory import load_organisation
from meetsvc.services.links import JoinLinks
from meetsvc.services.sessions import BrowserSessions
from meetsvc.services.waiting_room import Notices as RoomNotices, WaitingRoom
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import schedule as queries

log = logging.getLogger("meetsvc.schedule")

ACTOR = "system:schedule"


@dataclass(frozen=True, slots=True)
class Hooks:
    """What the work tells the rest of the process about, after its transaction commits."""

    #: New messages wait in the outbox.
    messages_recorded: Callable[[], None] = lambda: None
    #: The waiting room's sockets must hear of a change (a meeting ended by the schedule).
    room_changed: Callable[[RoomNotices], Awaitable[None]] | None = None
    #: The waiting room opened: those who arrived early may come in now.
    room_opened: Callable[[str], Awaitable[None]] | None = None


class ScheduledWork:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        room: WaitingRoom,
        notices: MessageNotices | None,
        links: JoinLinks,
        rules: Rules,
        hooks: Hooks,
        clock: Clock,
        *,
        sessions: BrowserSessions | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._room = room
        self._notices = notices
        self._links = links
        self._rules = rules
        self._hooks = hooks
        self._clock = clock
        self._sessions = sessions

    async def run(self, event: Event) -> bool:
        """Do what the event says if it is still due; whether anything was done."""
        handler = {
            EventKind.REMIND: self._remind,
            EventKind.OPEN: self._open,
            EventKind.CLOSE: self._close,
            EventKind.PURGE: self._purge,
        }[event.kind]
        return await handler(event)

    async def _remind(self, event: Event) -> bool:
        if self._notices is None or event.before is None:
            return False
        recorded = 0
        async with self._engine.begin() as connection:
            meeting = await queries.due_meeting(connection, event.meeting_id, lock=True)
            if meeting is None or not still_due(event, meeting, self._rules, now=self._clock()):
                return False
            organisation = await load_organisation(connection, meeting.organisation_id)
            # Only those invited before the reminder's time: a fresh invitation needs no reminder.
            invited = await queries.invited_by(connection, meeting.id, event.due)
            for participant in invited:
                link = await self._links.current(connection, participant.id)
                if link is None:
                    continue
                recorded += len(
                    await self._notices.enqueue_reminder(
                        connection, meeting, participant, link, organisation or "", event.before
                    )
                )
        if recorded:
            self._hooks.messages_recorded()
        return recorded > 0

    async def _open(self, event: Event) -> bool:
        async with self._engine.connect() as connection:
            meeting = await queries.due_meeting(connection, event.meeting_id, lock=False)
        if meeting is None or not still_due(event, meeting, self._rules, now=self._clock()):
            return False
        if self._hooks.room_opened is not None:
            await self._hooks.room_opened(event.meeting_id)
        return True

    async def _close(self, event: Event) -> bool:
        notices: RoomNotices | None = None
        async with self._engine.begin() as connection:
            meeting = await queries.due_meeting(connection, event.meeting_id, lock=True)
            if meeting is None or not still_due(event, meeting, self._rules, now=self._clock()):
                return False
            if meeting.status == MeetingStatus.SCHEDULED.value:
                await queries.mark_not_held(connection, meeting.id, now=self._clock())
                await self._audit.append(
                    connection,
                    actor=ACTOR,
                    action="meeting.not_held",
                    subject_type="meeting",
                    subject_id=meeting.id,
                    meeting_id=meeting.id,
                )
            else:
                notices = await self._room.end_in(connection, meeting.id, actor=ACTOR)
        if notices is not None and self._hooks.room_changed is not None:
            await self._hooks.room_changed(notices)
        return True

    async def _purge(self, event: Event) -> bool:
        """The retention rule: names, contact details, personal numbers, verified identities,
        sessions, identification orders and message texts go; ids, roles, states, times and the
        pseudonymous audit trail stay, so statistics and the audit chain survive."""
        async with self._engine.begin() as connection:
            meeting = await queries.due_meeting(connection, event.meeting_id, lock=True)
            if meeting is None or not still_due(event, meeting, self._rules, now=self._clock()):
                return False
            now = self._clock()
            ids = await queries.participant_ids(connection, meeting.id)
            await queries.erase_participants(connection, ids, now=now)
            messages = await outbox.purge_personal_data(connection, [meeting.id])
            await queries.mark_purged(connection, meeting.id, now=now)
            await self._audit.append(
                connection,
                actor=ACTOR,
                action="meeting.purged",
                subject_type="meeting",
                subject_id=meeting.id,
                meeting_id=meeting.id,
                details={"participants": len(ids), "messages": messages},
            )
        return True

    async def purge_sessions(self) -> int:
        """Browser sessions nobody has used for a while go, so sign-in pages and links opened
        and left do not pile up in the database; how many went."""
        if self._sessions is None:
            return 0
        purged = await self._sessions.purge()
        if purged:
            log.info("purged %d unused browser sessions", purged)
        return purged
